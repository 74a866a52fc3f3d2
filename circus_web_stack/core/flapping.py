"""The one policy for a watcher whose processes keep failing: unexpected exits and failed spawns.

`attempts` unexpected exits within `window_s` pause the watcher `retry_in_s`; after `max_retry` pauses
in a row (-1: never give up) it gives up. A failed spawn counts as an exit, and `max_spawn_failures`
failed spawns in a row (Circus's watcher max_retry) give up at once: a command that cannot start will
not start on the next try either. Ten quiet windows (at least 10 s) forgive the past pauses. Pure: the
state is plain data that the watcher model keeps (and a rolled-back reload puts back).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from circus_web_stack.core.settings import FlappingRule

# A flapping pause never shorter than this, so that `retry_in = 0` cannot become a busy loop (circus#1157).
MIN_RETRY_IN_S = 0.1


@dataclass(frozen=True)
class Pause:
    retry_in_s: float
    attempt: int  # 1-based count of pauses so far
    retries_left: int | None  # None: unlimited (max_retry = -1)


@dataclass(frozen=True)
class GiveUp:
    why: str


@dataclass
class FlappingState:
    exits: list[float] = field(default_factory=list)  # monotonic times within the window
    pauses: int = 0
    last_exit_s: float | None = None
    spawn_failures: int = 0  # in a row

    def copy(self) -> FlappingState:
        return FlappingState(list(self.exits), self.pauses, self.last_exit_s, self.spawn_failures)


def quiet_after_s(rule: FlappingRule) -> float:
    return max(10.0, 10 * rule.window_s)


def record_exit(state: FlappingState, rule: FlappingRule, now_s: float) -> Pause | GiveUp | None:
    """An unexpected exit: None (respawn), a pause, or the give-up."""
    if state.last_exit_s is not None and now_s - state.last_exit_s >= quiet_after_s(rule):
        state.pauses = 0
    state.last_exit_s = now_s
    state.exits = [t for t in state.exits if now_s - t <= rule.window_s]
    state.exits.append(now_s)
    if len(state.exits) < max(1, rule.attempts):
        return None
    state.exits.clear()
    if rule.max_retry >= 0 and state.pauses >= rule.max_retry:
        return GiveUp(f"still flapping after {state.pauses} pause(s) (flapping.max_retry = {rule.max_retry})")
    state.pauses += 1
    left = None if rule.max_retry < 0 else rule.max_retry - state.pauses
    return Pause(retry_in_s=max(MIN_RETRY_IN_S, rule.retry_in_s), attempt=state.pauses, retries_left=left)


def record_spawn_failure(state: FlappingState, rule: FlappingRule, now_s: float) -> Pause | GiveUp | None:
    """A spawn that failed: an exit for the window, and one more failure in a row."""
    state.spawn_failures += 1
    limit = rule.max_spawn_failures
    if limit >= 0 and state.spawn_failures > limit:
        return GiveUp(f"{state.spawn_failures} spawn failures in a row (max_retry = {limit})")
    return record_exit(state, rule, now_s)


def record_spawn(state: FlappingState) -> None:
    """A spawn succeeded: the failures in a row are over."""
    state.spawn_failures = 0


def reset(state: FlappingState) -> None:
    """An operator's start or restart forgives the past."""
    state.exits.clear()
    state.pauses = 0
    state.last_exit_s = None
    state.spawn_failures = 0
