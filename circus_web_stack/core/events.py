"""What the watcher's state machine is told: facts, in the past tense. Pure, frozen, plain data.

Commands carry the id the facade waits on (core.effects.Complete / Fail answer it). Process facts come
from the runtime's executor (a spawn done, an exit reaped, READY=1 received, a timer due).
"""

from __future__ import annotations

from dataclasses import dataclass

from circus_web_stack.core.settings import LifecycleSettings
from circus_web_stack.core.timers import TimerKey

CommandId = int


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class StartRequested:
    """`start`: bring up numprocesses processes."""

    command: CommandId


@dataclass(frozen=True)
class StopRequested:
    """`stop`, or circusd stopping (`fast`: every process gets FAST_STOP_S before SIGKILL). Overtakes a
    start or a reload in progress: that command fails, saying it was interrupted."""

    command: CommandId
    fast: bool = False


@dataclass(frozen=True)
class RestartRequested:
    """`restart`: every process stopped, then numprocesses started."""

    command: CommandId


@dataclass(frozen=True)
class HurryRequested:
    """A second Ctrl-C: whatever is stopping gets SIGKILL after FAST_STOP_S at most."""


@dataclass(frozen=True)
class ScaleRequested:
    """`incr`, `decr` or `set numprocesses`: the new desired count."""

    command: CommandId
    numprocesses: int


@dataclass(frozen=True)
class ReloadRequested:
    """Replace every process, ready before replaced. `settings`: the new ones a config change brings
    (None: the same); a rollback puts the previous ones back. `restart`: graceful = False.
    `config_change`: new processes are needed, so send_hup does not stand in for them."""

    command: CommandId
    sequential: bool = False
    settings: LifecycleSettings | None = None
    restart: bool = False
    config_change: bool = False


@dataclass(frozen=True)
class SettingsChanged:
    """A config change that needs no new processes (numprocesses, graceful_timeout, flapping...)."""

    command: CommandId
    settings: LifecycleSettings


@dataclass(frozen=True)
class KillRequested:
    """The `kill` command: stop these processes (stop signal, SIGKILL after `timeout_s`); the watcher
    replaces them as usual. Answered once they have all exited."""

    command: CommandId
    pids: tuple[int, ...]
    signum: int | None = None
    timeout_s: float | None = None


@dataclass(frozen=True)
class RemoveRequested:
    """rm / reloadconfig: stop (or, `nostop`, forget) the processes; the watcher then refuses all."""

    command: CommandId
    nostop: bool = False


# ----------------------------------------------------------------------------- process facts


@dataclass(frozen=True)
class StartPrepared:
    """The before_start hook passed and the streams are open."""


@dataclass(frozen=True)
class StartRefused:
    """The before_start hook failed or a stream could not open: the start fails, nothing spawned."""

    reason: str  # the before_start hook failed, or a stream cannot open


@dataclass(frozen=True)
class ProcessSpawned:
    """A process was forked and exec'd in slot `wid`."""

    wid: int
    pid: int
    expiry_fraction: float = 0.0  # drawn at random by the runtime, in [0, 1): spreads max_age


@dataclass(frozen=True)
class SpawnFailed:
    """A spawn in slot `wid` failed before the program ran (command not found, a bad working_dir)."""

    wid: int
    reason: str  # what the operator reads: "command not found: ...", "working_dir ... does not exist"


@dataclass(frozen=True)
class ProcessReady:
    """A process said READY=1 (or, without readiness, warmup passed)."""

    pid: int


@dataclass(frozen=True)
class ProcessExited:
    """A process was reaped."""

    pid: int
    exit_code: int  # the exit status, or -signum
    stderr_tail: tuple[str, ...] = ()  # its last stderr lines, to say why it failed


@dataclass(frozen=True)
class ReadyTimedOut:
    """A process did not report ready within ready_timeout."""

    pid: int
    stderr_tail: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimerFired:
    """A named timer came due (warmup, graceful_timeout, max_age, retry_in, ...)."""

    key: TimerKey


@dataclass(frozen=True)
class HookFinished:
    """A hook whose outcome decides what comes next (after_start) ran."""

    hook: str
    ok: bool


@dataclass(frozen=True)
class HookFailed:
    """before_spawn or after_spawn failed: the watcher stops (Circus's rule)."""

    hook: str
    wid: int | None = None  # before_spawn: the slot that was not spawned
    pid: int | None = None  # after_spawn: the process it ran for


Command = (
    StartRequested
    | StopRequested
    | RestartRequested
    | ScaleRequested
    | ReloadRequested
    | SettingsChanged
    | KillRequested
    | RemoveRequested
)
Event = (
    Command
    | HurryRequested
    | StartPrepared
    | StartRefused
    | ProcessSpawned
    | SpawnFailed
    | ProcessReady
    | ProcessExited
    | ReadyTimedOut
    | TimerFired
    | HookFinished
    | HookFailed
)
