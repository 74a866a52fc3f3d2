"""The watcher's named timers: what each one is for. Pure; the runtime's executor arms them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TimerKind(StrEnum):
    WARMUP = "warmup"  # warmup_delay between two spawns
    RESUME = "resume"  # the end of a flapping pause
    RECYCLE = "recycle"  # the next max_age deadline
    READY_TIMEOUT = "ready_timeout"  # a process that has not said READY=1 in time (fires ReadyTimedOut)
    ALIVE = "alive"  # readiness = alive: up for warmup_delay counts as ready
    KILL = "kill"  # graceful_timeout is over: SIGKILL
    KILL_WAIT = "kill_wait"  # still there KILL_WAIT_S after SIGKILL
    NICE = "nice"  # startup_nice lasts at most this long


# Timers that belong to one process: cancelled when it exits.
PROCESS_TIMER_KINDS = (
    TimerKind.READY_TIMEOUT,
    TimerKind.ALIVE,
    TimerKind.KILL,
    TimerKind.KILL_WAIT,
    TimerKind.NICE,
)


@dataclass(frozen=True)
class TimerKey:
    kind: TimerKind
    pid: int | None = None

    def __str__(self) -> str:
        return self.kind.value if self.pid is None else f"{self.kind.value}:{self.pid}"
