"""The state of one watcher as plain data: its phase, its processes, its timers, the command under way.

core.watcher_fsm is the only code that changes it; the runtime reads it (status, stats, `--waiting`).
Counts that a step needs on every event are kept as they change, so that a step costs the same with
5,000 processes as with 5.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from enum import StrEnum

from circus_web_stack.core.events import CommandId
from circus_web_stack.core.flapping import FlappingState
from circus_web_stack.core.scale import ProcessView, WidAllocator
from circus_web_stack.core.settings import LifecycleSettings, Readiness
from circus_web_stack.core.states import (
    CIRCUS_STATUS,
    FAILING_PHASES,
    FAILING_STATUS,
    ProcessState,
    WatcherPhase,
)
from circus_web_stack.core.timers import TimerKey


@dataclass
class ProcessRecord:
    pid: int
    wid: int
    generation: int
    started_s: float  # monotonic
    expires_s: float | None = None  # max_age deadline
    state: ProcessState = ProcessState.STARTING
    retiring: bool = False  # max_age: serving until its replacement is ready
    stop_reason: str | None = None
    stop_timeout_s: float = 0.0  # what the stop signal was given before SIGKILL
    kill_at_s: float | None = None  # when SIGKILL is due, while stopping
    killed_by_us: bool = False  # circusd sent the SIGKILL
    lowered: bool = False  # runs at startup_nice until ready
    due: bool = False  # past its max_age deadline
    ready_at_s: float | None = None  # when it reported ready (kept while it stops)

    def view(self) -> ProcessView:
        return ProcessView(self.pid, self.wid, self.state, self.started_s, self.expires_s, self.retiring)


class CommandKind(StrEnum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    RELOAD = "reload"
    KILL = "kill"
    REMOVE = "remove"


@dataclass(frozen=True)
class Spawning:
    generation: int
    lowered: bool  # asked to run at startup_nice until ready


@dataclass
class KillOrder:
    """A `kill` command: answered once every one of `pids` has exited."""

    pids: list[int]
    waiting_for: set[int]


@dataclass
class PendingCommand:
    """The command the current phase works towards, and what its answer will hold."""

    id: CommandId
    kind: CommandKind
    kept: list[int] = field(default_factory=list)  # pids already there at start
    stopped: list[int] = field(default_factory=list)
    awaiting_hook: bool = False  # start: after_start is running


class StopCause(StrEnum):
    COMMAND = "stop"
    GAVE_UP = "gave up"  # flapping or spawn failures: ends in GIVEN_UP
    HOOK_FAILED = "hook failed"  # ends in GIVEN_UP, as Circus stops a watcher whose hook failed
    NO_RESPAWN = "no respawn"  # every process exited and respawn is off
    REMOVE = "remove"  # ends in REMOVED


@dataclass
class StopPlan:
    cause: StopCause
    fast: bool = False
    then_start: CommandId | None = None  # a start that came in while stopping
    waiters: list[PendingCommand] = field(default_factory=list)  # more `stop` commands to answer


@dataclass
class Rolling:
    """A rolling reload under way. `old` is oldest first: the next one to stop is at the front."""

    command: CommandId
    sequential: bool
    old: deque[int]  # serving, not yet told to stop
    new: set[int] = field(default_factory=set)  # spawned for the new generation
    new_ready: set[int] = field(default_factory=set)
    retired: set[int] = field(default_factory=set)  # old ones told to stop, not yet exited
    retired_total: list[int] = field(default_factory=list)
    spawning: int = 0  # new spawns asked for and not yet answered
    failure: str | None = None  # set while rolling back
    previous_settings: LifecycleSettings | None = None  # to put back on a roll-back
    previous_flapping: FlappingState | None = None
    done_announced: bool = False


@dataclass
class WatcherModel:
    name: str
    settings: LifecycleSettings
    phase: WatcherPhase = WatcherPhase.STOPPED
    processes: dict[int, ProcessRecord] = field(default_factory=dict)
    spawning: dict[int, Spawning] = field(default_factory=dict)  # by wid: spawns not yet answered
    wids: WidAllocator = field(default_factory=WidAllocator)
    generation: int = 0
    flapping: FlappingState = field(default_factory=FlappingState)
    notifies_ready: bool = False
    timers: set[TimerKey] = field(default_factory=set)  # armed and not yet fired or cancelled
    command: PendingCommand | None = None
    stop: StopPlan | None = None
    rolling: Rolling | None = None
    kills: dict[CommandId, KillOrder] = field(default_factory=dict)
    due: deque[int] = field(default_factory=deque)  # pids past max_age, to recycle one at a time
    retiring_pid: int | None = None  # the one being recycled: serving until its replacement is ready
    counts: Counter[ProcessState] = field(default_factory=Counter)
    # The last process to end failed (an unexpected exit, a failed spawn) and none has been ready since.
    failing: bool = False

    def __post_init__(self) -> None:
        self.notifies_ready = self.notifies_ready or self.settings.readiness == Readiness.NOTIFY

    @property
    def live(self) -> int:
        """Processes that count towards numprocesses: starting or running, not retiring."""
        live = self.counts[ProcessState.STARTING] + self.counts[ProcessState.RUNNING]
        return live - (self.retiring_pid is not None)

    @property
    def awaits_ready_signal(self) -> bool:
        """Whether a new process counts as ready only once it says READY=1 (else: alive long enough)."""
        return self.notifies_ready and self.settings.readiness != Readiness.ALIVE

    def status(self) -> str:
        """What `status` answers: Circus's word for the phase, or FAILING_STATUS for a crash loop (no
        process ready and the last one failed) that Circus would call active."""
        if self.failing and self.phase in FAILING_PHASES and not self.counts[ProcessState.RUNNING]:
            return FAILING_STATUS
        return CIRCUS_STATUS[self.phase]

    def label(self, wid: int) -> str:
        return f"{self.name}#{wid}"

    def settled(self) -> bool:
        """Nothing starting, stopping or being spawned (what `--waiting` waits for after incr)."""
        return not self.spawning and not (
            self.counts[ProcessState.STARTING] or self.counts[ProcessState.STOPPING]
        )
