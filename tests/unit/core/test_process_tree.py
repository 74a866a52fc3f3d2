"""The process-tree walk and the /proc/PID/stat parent field, without any process."""

from __future__ import annotations

import pytest

from circus_web_stack.core.process_tree import descendants, parse_parent

TABLE = {1: [10, 20], 10: [11, 12], 12: [13], 20: [], 99: [100]}


@pytest.mark.parametrize(
    ("pid", "recursive", "expected"),
    [
        (1, True, [10, 20, 11, 12, 13]),  # parents before their children
        (1, False, [10, 20]),
        (12, True, [13]),
        (13, True, []),  # a leaf
        (7, True, []),  # unknown
    ],
)
def test_descendants(pid, recursive, expected):
    assert descendants(TABLE, pid, recursive=recursive) == expected


def test_a_table_read_while_processes_come_and_go_cannot_loop():
    assert descendants({1: [2], 2: [3], 3: [1, 2]}, 1) == [2, 3]


@pytest.mark.parametrize(
    ("stat", "parent"),
    [
        (b"4121 (python) S 4120 4121 4121 0 -1 4194560", 4120),
        (b"77 (a b) c) R 1 77 77 0", 1),  # comm with spaces and a parenthesis
        (b"5 ((sd-pam)) S 4 5 5 0", 4),
    ],
)
def test_parse_parent(stat, parent):
    assert parse_parent(stat) == parent
