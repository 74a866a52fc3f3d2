"""The process table as parent -> children, from one pass over /proc, shared for a moment.

Why: psutil's children() reads every process's /proc/PID/stat on each call (8 ms at 1,000 processes,
on the hub). Stopping 1,000 processes with stop_children, or killing 1,000 trees after a fast stop,
made 1,000 such passes: seconds with every command waiting. One pass now serves every lookup made
within MAX_AGE_S; a process forked later than that is still caught by the process-group kill.
"""

from __future__ import annotations

import contextlib
import os
import time

import psutil

from circus_web_stack.core.process_tree import descendants, parse_parent

#: How long one pass over /proc answers for: a burst of stops, not a lasting cache.
MAX_AGE_S = 0.05

_taken_at = -1.0
_children_by_parent: dict[int, list[int]] = {}


def _read_table() -> dict[int, list[int]]:
    table: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                parent = parse_parent(stat.read())
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        table.setdefault(parent, []).append(int(entry.name))
    return table


def descendant_processes(pid: int, *, recursive: bool = True) -> list[psutil.Process]:
    """`pid`'s children (or whole tree) as psutil processes, which check the pid was not reused before
    they signal it."""
    global _taken_at, _children_by_parent
    now = time.monotonic()
    if now - _taken_at > MAX_AGE_S:
        _children_by_parent, _taken_at = _read_table(), now
    found = []
    for child in descendants(_children_by_parent, pid, recursive=recursive):
        with contextlib.suppress(psutil.Error):  # gone meanwhile
            found.append(psutil.Process(child))
    return found


def children_of(pid: int) -> list[int]:
    """`pid`'s children at this moment, zombies included: a fresh pass, never the shared one."""
    return _read_table().get(pid, [])
