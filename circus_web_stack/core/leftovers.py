"""Which processes a watcher's exited processes left behind in their process groups, to stop when
circusd stops (Circus left them running: a `sh -c "...; sleep 3600"` whose shell got SIGTERM left
its `sleep`, re-parented to PID 1).

Each process a watcher spawns leads a process group of its own (pgid = its pid). When one exits
with members still in its group, the runtime records the group and when it was reaped. The rule for
telling those members from strangers: a pid, and so a pgid, is not reused while its process is
unreaped, so a process of that pgid created before the reap (plus a margin for the clocks' grain) is
the exited process's own; one created later can only be a stranger that reused the number. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# The grain of a process's start time (clock ticks) against time.time(); a pid is not reused within it.
CREATED_MARGIN_S = 1.0


@dataclass(frozen=True)
class LeftGroup:
    """The group of an exited process that still had members: what stops them, and how."""

    label: str  # "web#1 pid=4121"
    pgid: int
    reaped_at: float  # time.time() when its leader was reaped
    stop_signal: int
    graceful_timeout_s: float


@dataclass(frozen=True)
class ProcessEntry:
    """One line of the process table: enough to apply the rule."""

    pid: int
    pgid: int
    created_at: float  # time.time() scale


def left_behind(groups: Iterable[LeftGroup], table: Iterable[ProcessEntry]) -> Mapping[int, list[int]]:
    """For each recorded group with members left, pgid -> their pids (sorted); strangers excluded."""
    by_pgid = {g.pgid: g for g in groups}
    found: dict[int, list[int]] = {}
    for entry in table:
        group = by_pgid.get(entry.pgid)
        if group is not None and entry.created_at < group.reaped_at + CREATED_MARGIN_S:
            found.setdefault(entry.pgid, []).append(entry.pid)
    return {pgid: sorted(pids) for pgid, pids in found.items()}
