"""The watcher's decisions as pure functions of plain data and `now`.

Which processes to spawn or stop to reach numprocesses, which one max_age recycles next, whether a
watcher is flapping, which wid a new process gets, in which order watchers start and stop. The runtime
calls these and executes the effects; nothing here touches a process, a clock or a random generator.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from circus_web_stack.core.effects import (
    GiveUpWatcher,
    PauseWatcher,
    RetireProcess,
    SpawnProcesses,
    StopProcess,
)
from circus_web_stack.core.states import LIVE_PROCESS_STATES, ProcessState

# A flapping pause never shorter than this, so that `retry_in = 0` cannot become a busy loop (circus#1157).
MIN_RETRY_IN_S = 0.1


@dataclass(frozen=True)
class ProcessView:
    """What the planners need to know of one process."""

    pid: int
    wid: int
    state: ProcessState
    started_s: float  # monotonic
    expires_s: float | None = None  # monotonic max_age deadline, None without max_age
    retiring: bool = False  # due for max_age: serving until its replacement is ready


def plan_scale(
    processes: Sequence[ProcessView], target: int, scale_down: str = "oldest"
) -> list[SpawnProcesses | StopProcess]:
    """Spawn or stop processes so that `target` are live. Stopping ones are not live: a replacement
    starts while they drain."""
    live = [p for p in processes if p.state in LIVE_PROCESS_STATES and not p.retiring]
    if len(live) < target:
        return [SpawnProcesses(target - len(live))]
    if len(live) == target:
        return []
    # Processes still starting go first whatever scale_down says: they serve nobody yet.
    by_age = sorted(live, key=lambda p: (p.started_s, p.pid))
    if scale_down == "newest":
        by_age.reverse()
    by_age.sort(key=lambda p: p.state != ProcessState.STARTING)
    return [StopProcess(p.pid, "scale down") for p in by_age[: len(live) - target]]


def expiry_deadline(started_s: float, max_age_s: float, variance_s: float, fraction: float) -> float | None:
    """The moment a process is due for recycling; `fraction` in [0, 1) is drawn once, at spawn, by the
    caller, so that processes started together do not all expire together (circus PR #893)."""
    if max_age_s <= 0:
        return None
    return started_s + max_age_s + variance_s * fraction


def plan_recycle(processes: Sequence[ProcessView], now_s: float) -> list[StopProcess | RetireProcess]:
    """max_age, one process at a time and ready before replaced: the first due process retires (a
    replacement starts, see plan_scale); once nothing is starting, the retiring one is stopped."""
    if any(p.state in (ProcessState.STARTING, ProcessState.STOPPING) for p in processes):
        return []
    retiring = [p for p in processes if p.retiring and p.state == ProcessState.RUNNING]
    if retiring:
        return [StopProcess(retiring[0].pid, "max_age")]
    due = [p for p in processes if p.state == ProcessState.RUNNING and p.expires_s is not None]
    due = [p for p in due if p.expires_s <= now_s]  # type: ignore[operator]
    if not due:
        return []
    first = min(due, key=lambda p: (p.expires_s, p.pid))
    return [RetireProcess(first.pid)]


def next_recycle_at(processes: Sequence[ProcessView]) -> float | None:
    deadlines = [
        p.expires_s for p in processes if p.expires_s is not None and p.state == ProcessState.RUNNING
    ]
    return min(deadlines) if deadlines else None


def next_wid(used: Iterable[int], start: int = 1) -> int:
    """The smallest free slot id from `start` (1 by default): a restarted process takes back its slot
    (circus#717). A caller that knows every wid below `start` is taken skips scanning them."""
    taken = used if isinstance(used, set | frozenset) else set(used)
    wid = start
    while wid in taken:
        wid += 1
    return wid


def start_order(priorities: Iterable[tuple[str, int]]) -> list[str]:
    """Higher priority starts first; ties by name. Stopping uses the reverse."""
    return [name for name, _ in sorted(priorities, key=lambda item: (-item[1], item[0]))]


class FlappingTracker:
    """Decides when a watcher whose processes keep dying must pause, and when it must give up.

    `attempts` unexpected exits within `window` seconds pause the watcher `retry_in` seconds; after
    `max_retry` pauses in a row (-1: never give up) it is stopped. A spawn failure counts as an exit.
    Ten quiet windows (at least 10 s) with no unexpected exit start the count of pauses afresh.
    """

    def __init__(self, attempts: int, window_s: float, retry_in_s: float, max_retry: int) -> None:
        self.attempts = max(1, attempts)
        self.window_s = window_s
        self.retry_in_s = max(MIN_RETRY_IN_S, retry_in_s)
        self.max_retry = max_retry
        self.pauses = 0
        self._exits: deque[float] = deque()
        self._last_exit_s: float | None = None

    @property
    def quiet_after_s(self) -> float:
        return max(10.0, 10 * self.window_s)

    def record_exit(self, now_s: float) -> PauseWatcher | GiveUpWatcher | None:
        if self._last_exit_s is not None and now_s - self._last_exit_s >= self.quiet_after_s:
            self.pauses = 0
        self._last_exit_s = now_s
        self._exits.append(now_s)
        while self._exits and now_s - self._exits[0] > self.window_s:
            self._exits.popleft()
        if len(self._exits) < self.attempts:
            return None
        self._exits.clear()
        if self.max_retry >= 0 and self.pauses >= self.max_retry:
            return GiveUpWatcher(pauses=self.pauses)
        self.pauses += 1
        left = None if self.max_retry < 0 else self.max_retry - self.pauses
        return PauseWatcher(retry_in_s=self.retry_in_s, attempt=self.pauses, retries_left=left)

    def reset(self) -> None:
        """An operator's start or restart forgives the past."""
        self.pauses = 0
        self._exits.clear()
        self._last_exit_s = None
