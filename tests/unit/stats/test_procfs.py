"""Parsing /proc: stat lines (names with spaces and parentheses), cmdline, boot time, process trees."""

from __future__ import annotations

import pytest

from circus_web_stack.runtime.stats import procfs

# A real line's shape (man 5 proc), with a command name that contains ") (" and spaces.
STAT = (
    b"4121 (we ird) (name) S 17 4121 4121 0 -1 4194560 1234 0 0 0 250 75 0 0 20 5 1 0 "
    b"987654 34498560 6863 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n"
)


def test_parse_stat_counts_fields_after_the_last_parenthesis():
    stat = procfs.parse_stat(4121, STAT)
    assert (stat.pid, stat.ppid, stat.state) == (4121, 17, "S")
    assert (stat.utime_ticks, stat.stime_ticks, stat.nice) == (250, 75, 5)
    assert stat.start_ticks == 987654
    assert stat.cpu_seconds == pytest.approx(325 / procfs.CLOCK_TICKS)
    assert stat.create_time(1_700_000_000.0) == pytest.approx(1_700_000_000.0 + 987654 / procfs.CLOCK_TICKS)


def test_parse_statm_gives_vms_and_rss_in_bytes():
    assert procfs.parse_statm(b"8422 6863 1024 12 0 340 0\n") == (
        8422 * procfs.PAGE_SIZE,
        6863 * procfs.PAGE_SIZE,
    )


def test_parse_stat_refuses_a_truncated_line():
    with pytest.raises(ValueError, match="truncated"):
        procfs.parse_stat(7, b"7 (sleep) S 1 7 7 0")


def test_parse_ppid_reads_only_the_parent():
    assert procfs.parse_ppid(STAT) == 17
    assert procfs.parse_ppid(b"1 (init) S 0 1 1 0 -1") == 0


@pytest.mark.parametrize(
    ("raw", "argv"),
    [
        (b"python3\0-m\0app\0", ("python3", "-m", "app")),
        (b"nginx: worker process", ("nginx: worker process",)),  # a rewritten title has no NULs
        (b"", ()),  # a kernel thread or a zombie
    ],
)
def test_parse_cmdline(raw, argv):
    assert procfs.parse_cmdline(raw) == argv


def test_boot_time_and_memory_total():
    assert procfs.parse_boot_time(b"cpu  1 2 3\nbtime 1795390000\nprocesses 9\n") == 1795390000.0
    assert procfs.parse_mem_total(b"MemTotal:       24684544 kB\nMemFree: 1 kB\n") == 24684544 * 1024
    with pytest.raises(ValueError):
        procfs.parse_boot_time(b"cpu 1\n")
    with pytest.raises(ValueError):
        procfs.parse_mem_total(b"MemFree: 1 kB\n")


def test_descendants_walk_the_whole_tree_once():
    kids = procfs.children_map([(2, 1), (3, 1), (4, 2), (5, 4), (9, 8)])
    assert kids == {1: [2, 3], 2: [4], 4: [5], 8: [9]}
    assert procfs.descendants(1, kids) == [2, 3, 4, 5]
    assert procfs.descendants(5, kids) == []
    assert procfs.descendants(1, {1: [2], 2: [1]}) == [2]  # a cycle cannot loop
