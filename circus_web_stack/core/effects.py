"""Instructions that the pure planners hand to the runtime, in the imperative.

The runtime executes them in one place (runtime/watcher.py) so that tests of the planners assert what
should happen, not which os call did it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpawnProcesses:
    count: int


@dataclass(frozen=True)
class StopProcess:
    pid: int
    reason: str  # "scale down", "max_age", "reload", "stop": goes into the log line


@dataclass(frozen=True)
class RetireProcess:
    """max_age: this process is due. It stops counting as live, so a replacement starts; it is stopped
    once that replacement is ready (ready before replaced)."""

    pid: int


@dataclass(frozen=True)
class PauseWatcher:
    """Flapping: stop respawning for `retry_in_s`, then try again."""

    retry_in_s: float
    attempt: int  # 1-based count of pauses so far
    retries_left: int | None  # None: unlimited (max_retry = -1)


@dataclass(frozen=True)
class GiveUpWatcher:
    """Flapping: every retry was used; stop the watcher for good."""

    pauses: int


Effect = SpawnProcesses | StopProcess | RetireProcess | PauseWatcher | GiveUpWatcher
