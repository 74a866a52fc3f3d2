"""What the watcher's state machine needs to know of a watcher's config, as plain frozen data.

The runtime builds it from config.model.WatcherConfig (core cannot import config); the state machine
reads nothing else, so a test builds one in a line.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from enum import StrEnum


class Readiness(StrEnum):
    AUTO = "auto"  # learned: once one process said READY=1, its successors must too
    NOTIFY = "notify"  # ready only at READY=1
    ALIVE = "alive"  # ready once alive for warmup_delay (or at once)


@dataclass(frozen=True)
class FlappingRule:
    """`attempts` unexpected exits within `window_s` pause the watcher `retry_in_s`; after
    `max_retry` pauses in a row (-1: never) it gives up. `max_spawn_failures` spawn failures in a row
    (the watcher's max_retry; -1: never) give up too."""

    attempts: int = 2
    window_s: float = 1.0
    retry_in_s: float = 7.0
    max_retry: int = 5
    max_spawn_failures: int = 5


@dataclass(frozen=True)
class LifecycleSettings:
    numprocesses: int = 1
    warmup_delay_s: float = 0.0
    graceful_timeout_s: float = 30.0
    stop_signal: int = signal.SIGTERM
    stop_children: bool = False
    ready_timeout_s: float = 60.0
    readiness: Readiness = Readiness.AUTO
    max_age_s: float = 0.0
    max_age_variance_s: float = 30.0
    respawn: bool = True
    max_surge: int = 1
    scale_down: str = "oldest"  # or "newest"
    send_hup: bool = False
    startup_nice: int = 0  # 0 also when the runtime could not give the priority back
    singleton: bool = False
    hooks: frozenset[str] = frozenset()  # the hooks configured (after_start decides the start)
    flapping: FlappingRule = field(default_factory=FlappingRule)
