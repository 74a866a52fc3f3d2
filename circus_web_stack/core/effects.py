"""What the watcher's state machine asks the runtime to do, in the imperative. Pure, frozen data.

runtime.watcher.executor is the one place that carries them out, in the order given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from circus_web_stack.core.errors import Errno
from circus_web_stack.core.events import CommandId
from circus_web_stack.core.notices import Notice
from circus_web_stack.core.timers import TimerKey


@dataclass(frozen=True)
class PrepareStart:
    """Run the before_start hook and open the streams; answer StartPrepared or StartRefused."""


@dataclass(frozen=True)
class Spawn:
    """Start one process (before_spawn and after_spawn hooks around it); answer ProcessSpawned,
    SpawnFailed or HookFailed. `lower_nice`: run it that much nicer until it is ready."""

    wid: int
    generation: int
    lower_nice: int = 0


@dataclass(frozen=True)
class Signal:
    """Send `signum` to the process (its tree when `recursive`, its direct children too when
    `children`). With a `reason` it is a stop signal: logged with the reason, the before_signal and
    after_signal hooks run around it (a veto keeps it from being sent), and `kill` is published."""

    pid: int
    signum: int
    recursive: bool = False
    children: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class KillTree:
    """SIGKILL the process, its descendants and its process group."""

    pid: int


@dataclass(frozen=True)
class RestorePriority:
    pid: int


@dataclass(frozen=True)
class StartTimer:
    key: TimerKey
    delay_s: float


@dataclass(frozen=True)
class CancelTimer:
    key: TimerKey


@dataclass(frozen=True)
class Publish:
    notice: Notice


@dataclass(frozen=True)
class Log:
    level: int  # logging.INFO, ...
    message: str
    stderr_tail: tuple[str, ...] = ()  # appended as "; its last stderr lines: a | b"


@dataclass(frozen=True)
class RunHook:
    """Run a hook; `report`: answer HookFinished with its outcome."""

    hook: str
    arguments: tuple[tuple[str, object], ...] = ()
    report: bool = False


@dataclass(frozen=True)
class CloseStreams:
    """Every process has exited: close the streams once their pumps have drained."""


@dataclass(frozen=True)
class RestoreConfig:
    """A reload rolled back (or was interrupted): put back the config, hooks and streams it replaced."""


@dataclass(frozen=True)
class ReleaseReplaced:
    """A reload finished: the config it replaced is gone for good (close its streams once unused)."""


@dataclass(frozen=True)
class Complete:
    command: CommandId
    result: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Fail:
    command: CommandId
    reason: str
    errno: Errno = Errno.COMMAND_ERROR


Effect = (
    PrepareStart
    | Spawn
    | Signal
    | KillTree
    | RestorePriority
    | StartTimer
    | CancelTimer
    | Publish
    | Log
    | RunHook
    | CloseStreams
    | RestoreConfig
    | ReleaseReplaced
    | Complete
    | Fail
)

INFO = logging.INFO
WARNING = logging.WARNING
ERROR = logging.ERROR
DEBUG = logging.DEBUG
