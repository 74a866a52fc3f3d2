"""What a watcher announces on the event channel, as plain data: one class per event.

Each class names its event once (`event`); protocol.pubsub turns a notice into its topic and payload
through one table, so an emit site cannot pair an event name with another event's payload. The time is
stamped when it is published. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class EventName(StrEnum):
    SPAWN = "spawn"
    REAP = "reap"
    KILL = "kill"
    STOP = "stop"
    START = "start"
    RELOAD = "reload"
    UPDATED = "updated"
    ADD = "add"
    REMOVE = "remove"
    HOOK_SUCCESS = "hook_success"
    HOOK_FAILURE = "hook_failure"
    FLAPPING = "flapping"  # ours: Circus's flapping plugin publishes nothing


@dataclass(frozen=True)
class Spawned:
    event: ClassVar[EventName] = EventName.SPAWN
    pid: int
    wid: int


@dataclass(frozen=True)
class Reaped:
    event: ClassVar[EventName] = EventName.REAP
    pid: int
    wid: int
    exit_code: int
    expected: bool


@dataclass(frozen=True)
class Signalled:
    """The stop signal was sent (Circus's `kill` event)."""

    event: ClassVar[EventName] = EventName.KILL
    pid: int


@dataclass(frozen=True)
class Started:
    event: ClassVar[EventName] = EventName.START


@dataclass(frozen=True)
class Stopped:
    event: ClassVar[EventName] = EventName.STOP


@dataclass(frozen=True)
class Reloaded:
    """A reload's progress (counts), its end (`done`), or its roll-back (`rolled_back`, `reason`);
    all None: a reload by SIGHUP (send_hup), which Circus announces with the time alone."""

    event: ClassVar[EventName] = EventName.RELOAD
    old: int | None = None
    new: int | None = None
    ready: int | None = None
    done: bool | None = None
    rolled_back: bool | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Updated:
    event: ClassVar[EventName] = EventName.UPDATED
    key: str | None = None


@dataclass(frozen=True)
class Added:
    event: ClassVar[EventName] = EventName.ADD


@dataclass(frozen=True)
class Removed:
    event: ClassVar[EventName] = EventName.REMOVE


@dataclass(frozen=True)
class HookSucceeded:
    event: ClassVar[EventName] = EventName.HOOK_SUCCESS
    hook: str


@dataclass(frozen=True)
class HookFailedNotice:
    event: ClassVar[EventName] = EventName.HOOK_FAILURE
    hook: str
    error: str


@dataclass(frozen=True)
class Flapping:
    """A pause (`retry_in` seconds) or, with retry_in None, the give-up (`reason` says why)."""

    event: ClassVar[EventName] = EventName.FLAPPING
    attempts: int
    window: float
    retry_in: float | None
    retries_left: int | None
    pause: int | None = None
    reason: str | None = None


Notice = (
    Spawned
    | Reaped
    | Signalled
    | Started
    | Stopped
    | Reloaded
    | Updated
    | Added
    | Removed
    | HookSucceeded
    | HookFailedNotice
    | Flapping
)
NOTICE_TYPES: tuple[type[Notice], ...] = (
    Spawned,
    Reaped,
    Signalled,
    Started,
    Stopped,
    Reloaded,
    Updated,
    Added,
    Removed,
    HookSucceeded,
    HookFailedNotice,
    Flapping,
)
