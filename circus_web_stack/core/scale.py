"""Counting decisions: which processes to stop to scale down, which one max_age recycles next, which
wid a new process takes, when a process expires, in which order watchers start. Pure.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from circus_web_stack.core.states import ProcessState


@dataclass(frozen=True)
class ProcessView:
    """What the planners need to know of one process."""

    pid: int
    wid: int
    state: ProcessState
    started_s: float  # monotonic
    expires_s: float | None = None  # monotonic max_age deadline, None without max_age
    retiring: bool = False  # due for max_age: serving until its replacement is ready


def scale_down_victims(live: Sequence[ProcessView], count: int, scale_down: str = "oldest") -> list[int]:
    """The pids to stop so that `count` fewer are live. Processes still starting go first whatever
    scale_down says: they serve nobody yet."""
    by_age = sorted(live, key=lambda p: (p.started_s, p.pid))
    if scale_down == "newest":
        by_age.reverse()
    by_age.sort(key=lambda p: p.state != ProcessState.STARTING)
    return [p.pid for p in by_age[:count]]


def expiry_deadline(started_s: float, max_age_s: float, variance_s: float, fraction: float) -> float | None:
    """The moment a process is due for recycling; `fraction` in [0, 1) is drawn once, at spawn, by the
    runtime, so that processes started together do not all expire together (circus PR #893)."""
    if max_age_s <= 0:
        return None
    return started_s + max_age_s + variance_s * fraction


def first_due(processes: Iterable[ProcessView], now_s: float) -> ProcessView | None:
    """The running process whose max_age deadline passed first, if any."""
    due = [
        p
        for p in processes
        if p.state == ProcessState.RUNNING
        and not p.retiring
        and p.expires_s is not None
        and p.expires_s <= now_s
    ]
    return min(due, key=lambda p: (p.expires_s, p.pid)) if due else None


def next_expiry(processes: Iterable[ProcessView]) -> float | None:
    deadlines = [
        p.expires_s
        for p in processes
        if p.expires_s is not None and p.state == ProcessState.RUNNING and not p.retiring
    ]
    return min(deadlines) if deadlines else None


@dataclass
class WidAllocator:
    """Slot ids: a new process takes the smallest free one (a restarted process takes back its slot,
    circus#717), in O(log n): every wid up to `highest` is in use except those in `free`."""

    highest: int = 0
    free: list[int] = field(default_factory=list)  # a heap

    def take(self) -> int:
        if self.free:
            return heapq.heappop(self.free)
        self.highest += 1
        return self.highest

    def release(self, wid: int) -> None:
        heapq.heappush(self.free, wid)


def start_order(priorities: Iterable[tuple[str, int]]) -> list[str]:
    """Higher priority starts first; ties by name. Stopping uses the reverse."""
    return [name for name, _ in sorted(priorities, key=lambda item: (-item[1], item[0]))]
