"""Reading processes from Linux's /proc: /proc/<pid>/stat gives CPU times, nice, parent and start time;
/proc/<pid>/statm gives RSS and VMS. These are the figures that change between two samples.

Rules: the hot path is two small os-level reads per process per sample, about three times cheaper than
psutil's oneshot() of the same two files (its object layer is the cost). The numbers are psutil's
exactly: the same kernel fields over the same clock tick and page size. RSS comes from statm, never
from stat's rss field: since Linux 6.2 that one reads the per-CPU counters without summing them and
was 6% low for a `sleep` here. Identity is (pid, start ticks), so a reused pid is never taken for the
process it replaced. Parsing is pure.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PROC = "/proc"

# Fields of /proc/<pid>/stat counted after the ")" that closes the command name (man 5 proc numbers
# minus 3): state is 0, ppid 1, utime 11, stime 12, nice 16, starttime 19.
_PPID, _UTIME, _STIME, _NICE, _START = 1, 11, 12, 16, 19


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The per-sample CPU figures of one process, in the kernel's units (clock ticks)."""

    pid: int
    ppid: int
    state: str
    utime_ticks: int
    stime_ticks: int
    nice: int
    start_ticks: int  # since boot: with the pid, the identity of the process

    @property
    def cpu_seconds(self) -> float:
        return (self.utime_ticks + self.stime_ticks) / CLOCK_TICKS

    def create_time(self, boot_time: float) -> float:
        """Epoch seconds, as psutil computes it (start ticks / CLK_TCK + boot time)."""
        return self.start_ticks / CLOCK_TICKS + boot_time


def parse_stat(pid: int, data: bytes) -> ProcStat:
    """A /proc/<pid>/stat line. The command name may hold spaces and parentheses, so fields are
    counted from the LAST ")". ValueError if the line is cut short."""
    close = data.rfind(b")")
    fields = data[close + 2 :].split()
    if close < 0 or len(fields) <= _START:
        raise ValueError(f"/proc/{pid}/stat is truncated: {data[:80]!r}")
    return ProcStat(
        pid=pid,
        ppid=int(fields[_PPID]),
        state=fields[0].decode("ascii", "replace"),
        utime_ticks=int(fields[_UTIME]),
        stime_ticks=int(fields[_STIME]),
        nice=int(fields[_NICE]),
        start_ticks=int(fields[_START]),
    )


def parse_statm(data: bytes) -> tuple[int, int]:
    """(vms_bytes, rss_bytes) from /proc/<pid>/statm: its first two fields, in pages."""
    size, resident = data.split(maxsplit=2)[:2]
    return int(size) * PAGE_SIZE, int(resident) * PAGE_SIZE


def parse_ppid(data: bytes) -> int:
    """Only the parent pid of a stat line: what a scan of every process needs."""
    close = data.rfind(b")")
    return int(data[close + 4 : data.index(b" ", close + 4)])


def parse_cmdline(data: bytes) -> tuple[str, ...]:
    """argv from /proc/<pid>/cmdline (NUL-separated, usually NUL-terminated)."""
    if not data:
        return ()
    return tuple(part.decode("utf-8", "replace") for part in data.rstrip(b"\0").split(b"\0"))


def parse_boot_time(proc_stat: bytes) -> float:
    """The `btime` line of /proc/stat: when the machine booted, epoch seconds."""
    for line in proc_stat.splitlines():
        if line.startswith(b"btime"):
            return float(line.split()[1])
    raise ValueError("/proc/stat has no btime line")


def parse_mem_total(meminfo: bytes) -> int:
    """MemTotal of /proc/meminfo, in bytes."""
    for line in meminfo.splitlines():
        if line.startswith(b"MemTotal:"):
            return int(line.split()[1]) * 1024
    raise ValueError("/proc/meminfo has no MemTotal line")


def children_map(ppids: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    """parent pid -> child pids, from (pid, ppid) pairs."""
    kids: dict[int, list[int]] = {}
    for pid, ppid in ppids:
        kids.setdefault(ppid, []).append(pid)
    return kids


def descendants(pid: int, kids: dict[int, list[int]]) -> list[int]:
    """Every descendant of `pid` (children first, breadth-first), cycles impossible by construction
    of a process tree but guarded anyway."""
    found: list[int] = []
    seen = {pid}
    queue = list(kids.get(pid, ()))
    while queue:
        child = queue.pop(0)
        if child in seen:
            continue
        seen.add(child)
        found.append(child)
        queue.extend(kids.get(child, ()))
    return found


# ---------------------------------------------------------------------------------------------------
# Reading (blocking syscalls: the daemon calls these from its threadpool, circusd-stats directly).


def read_file(path: str, size: int = 4096) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


def read_stat(pid: int) -> ProcStat | None:
    """None if the process is gone (or not visible to us)."""
    try:
        return parse_stat(pid, read_file(f"{PROC}/{pid}/stat"))
    except (OSError, ValueError):
        return None


def read_statm(pid: int) -> tuple[int, int] | None:
    """(vms_bytes, rss_bytes), or None if the process is gone."""
    try:
        return parse_statm(read_file(f"{PROC}/{pid}/statm", 256))
    except (OSError, ValueError):
        return None


class PinnedFiles:
    """/proc/<pid>/stat and statm kept open, for a process sampled again and again: a sample is then two
    pread()s without a path lookup, half the cost of open/read/close. The open files belong to that
    very process: once it is reaped they fail (ESRCH), even if its pid has been given to another."""

    __slots__ = ("_stat", "_statm")

    def __init__(self, stat_fd: int, statm_fd: int) -> None:
        self._stat = stat_fd
        self._statm = statm_fd

    @classmethod
    def open(cls, pid: int) -> PinnedFiles | None:
        """None if the process is gone or no descriptor is left (the caller reads by path then)."""
        try:
            stat_fd = os.open(f"{PROC}/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            statm_fd = os.open(f"{PROC}/{pid}/statm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            os.close(stat_fd)
            return None
        return cls(stat_fd, statm_fd)

    def read(self, pid: int) -> tuple[ProcStat, tuple[int, int]] | None:
        """(stat, (vms_bytes, rss_bytes)), or None once the process is gone."""
        try:
            return parse_stat(pid, os.pread(self._stat, 4096, 0)), parse_statm(os.pread(self._statm, 256, 0))
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        os.close(self._stat)
        os.close(self._statm)


def read_cmdline(pid: int) -> tuple[str, ...] | None:
    try:
        return parse_cmdline(read_file(f"{PROC}/{pid}/cmdline", 65536))
    except OSError:
        return None


def read_uid(pid: int) -> int | None:
    """The real uid, as psutil's username() uses it: the owner of /proc/<pid> is the effective uid,
    so read the status file's Uid line."""
    try:
        status = read_file(f"{PROC}/{pid}/status", 8192)
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(b"Uid:"):
            return int(line.split()[1])
    return None


def read_boot_time() -> float:
    return parse_boot_time(read_file(f"{PROC}/stat", 1 << 20))


def read_mem_total() -> int:
    return parse_mem_total(read_file(f"{PROC}/meminfo", 8192))


def scan_ppids() -> dict[int, list[int]]:
    """parent -> children for every process on the machine: one read of a stat file each. Costs as
    much as the machine has processes, so callers do it rarely (see Sampler's CHILDREN_SCAN_S)."""
    pairs = []
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        try:
            pairs.append((int(name), parse_ppid(read_file(f"{PROC}/{name}/stat"))))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return children_map(pairs)
