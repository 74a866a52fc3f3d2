"""The building blocks of the watcher's steps: each changes the model and appends the effects that go
with the change, so that a process's state, the counts and the timers never disagree. Pure.

core.watcher_fsm and core.fsm_rolling compose them; nothing else calls them.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable

from circus_web_stack.core import flapping
from circus_web_stack.core.effects import (
    DEBUG,
    INFO,
    WARNING,
    CancelTimer,
    CloseStreams,
    Complete,
    Effect,
    Fail,
    KillTree,
    Log,
    PrepareStart,
    Publish,
    RestoreConfig,
    RestorePriority,
    RunHook,
    Signal,
    Spawn,
    StartTimer,
)
from circus_web_stack.core.errors import Errno
from circus_web_stack.core.events import CommandId
from circus_web_stack.core.exits import signal_name
from circus_web_stack.core.notices import Started, Stopped
from circus_web_stack.core.scale import scale_down_victims
from circus_web_stack.core.states import (
    LIVE_PROCESS_STATES,
    PROCESS_TRANSITIONS,
    ProcessState,
    WatcherPhase,
    check_transition,
)
from circus_web_stack.core.timers import TimerKey, TimerKind
from circus_web_stack.core.watcher_model import (
    CommandKind,
    PendingCommand,
    ProcessRecord,
    Spawning,
    StopCause,
    StopPlan,
    WatcherModel,
)

Effects = list[Effect]

# A fast stop (SIGQUIT, a second Ctrl-C) gives each process this long after its stop signal.
FAST_STOP_S = 1.0
# How long a SIGKILLed process may take to disappear before we say so (a process in D state can't die).
KILL_WAIT_S = 10.0
# startup_nice lasts at most this long, ready or not.
LOWERED_AT_MOST_S = 1.0

_WATCHER_TIMERS = (TimerKind.WARMUP, TimerKind.RESUME)
_STOP_ENDS_IN = {
    StopCause.COMMAND: WatcherPhase.STOPPED,
    StopCause.NO_RESPAWN: WatcherPhase.STOPPED,
    StopCause.GAVE_UP: WatcherPhase.GIVEN_UP,
    StopCause.HOOK_FAILED: WatcherPhase.GIVEN_UP,
    StopCause.REMOVE: WatcherPhase.REMOVED,
}


# ----------------------------------------------------------------------------- timers


def start_timer(m: WatcherModel, key: TimerKey, delay_s: float, fx: Effects) -> None:
    if key in m.timers:
        fx.append(CancelTimer(key))
    m.timers.add(key)
    fx.append(StartTimer(key, max(0.0, delay_s)))


def cancel_timer(m: WatcherModel, key: TimerKey, fx: Effects) -> None:
    if key in m.timers:
        m.timers.discard(key)
        fx.append(CancelTimer(key))


def cancel_process_timers(m: WatcherModel, pid: int, fx: Effects, kinds: Iterable[TimerKind]) -> None:
    for kind in kinds:
        cancel_timer(m, TimerKey(kind, pid), fx)


# ----------------------------------------------------------------------------- process states


def set_state(m: WatcherModel, rec: ProcessRecord, new: ProcessState) -> None:
    """The one place a process changes state, keeping the counts (and the recycling mark) true."""
    if rec.pid == m.retiring_pid and new != ProcessState.RUNNING:
        m.retiring_pid = None
        rec.retiring = False
    check_transition(PROCESS_TRANSITIONS, rec.state, new, f"process {m.label(rec.wid)}")
    m.counts[rec.state] -= 1
    rec.state = new
    if new != ProcessState.EXITED:
        m.counts[new] += 1


def live_records(m: WatcherModel) -> list[ProcessRecord]:
    return [r for r in m.processes.values() if r.state in LIVE_PROCESS_STATES]


def spawn(m: WatcherModel, generation: int, fx: Effects) -> None:
    """Ask for one more process in the smallest free slot."""
    cfg = m.settings
    ready_at_once = not m.awaits_ready_signal and cfg.warmup_delay_s <= 0
    lower = 0 if ready_at_once else cfg.startup_nice
    wid = m.wids.take()
    m.spawning[wid] = Spawning(generation, lowered=lower > 0)
    fx.append(Spawn(wid, generation, lower_nice=lower))


def mark_ready(m: WatcherModel, rec: ProcessRecord, now: float, fx: Effects) -> None:
    if rec.state != ProcessState.STARTING:
        return
    set_state(m, rec, ProcessState.RUNNING)
    rec.ready_at_s = now
    m.failing = False
    cancel_process_timers(m, rec.pid, fx, (TimerKind.READY_TIMEOUT, TimerKind.ALIVE))
    restore_priority(m, rec, fx)
    fx.append(Log(DEBUG, f"{m.label(rec.wid)} pid={rec.pid} ready after {now - rec.started_s:.2f}s"))
    if m.rolling is not None and rec.pid in m.rolling.new:
        m.rolling.new_ready.add(rec.pid)


def restore_priority(m: WatcherModel, rec: ProcessRecord, fx: Effects) -> None:
    if rec.lowered:
        rec.lowered = False
        cancel_timer(m, TimerKey(TimerKind.NICE, rec.pid), fx)
        fx.append(RestorePriority(rec.pid))


def stop_process(
    m: WatcherModel,
    rec: ProcessRecord,
    reason: str,
    now: float,
    fx: Effects,
    *,
    signum: int | None = None,
    timeout_s: float | None = None,
) -> None:
    """Begin a graceful stop: the stop signal now, SIGKILL once `timeout_s` (graceful_timeout) is over."""
    if rec.state not in LIVE_PROCESS_STATES:
        return
    cfg = m.settings
    set_state(m, rec, ProcessState.STOPPING)
    cancel_process_timers(m, rec.pid, fx, (TimerKind.READY_TIMEOUT, TimerKind.ALIVE))
    rec.stop_reason = reason
    timeout = cfg.graceful_timeout_s if timeout_s is None else timeout_s
    if m.stop is not None and m.stop.fast:
        timeout = min(timeout, FAST_STOP_S)
    rec.stop_timeout_s = timeout
    signum = signum or cfg.stop_signal
    fx.append(Signal(rec.pid, signum, recursive=cfg.stop_children, reason=reason))
    if timeout <= 0 or signum == signal.SIGKILL:
        kill(m, rec, fx)
        return
    rec.kill_at_s = now + timeout
    start_timer(m, TimerKey(TimerKind.KILL, rec.pid), timeout, fx)


def kill(m: WatcherModel, rec: ProcessRecord, fx: Effects) -> None:
    rec.killed_by_us = True
    rec.kill_at_s = None
    fx.append(KillTree(rec.pid))
    start_timer(m, TimerKey(TimerKind.KILL_WAIT, rec.pid), KILL_WAIT_S, fx)


def graceful_timeout_over(m: WatcherModel, rec: ProcessRecord, fx: Effects) -> None:
    what = "(graceful_timeout)" if m.stop is None or not m.stop.fast else "(fast stop)"
    fx.append(
        Log(
            WARNING,
            f"{m.label(rec.wid)} pid={rec.pid} ignored {signal_name(m.settings.stop_signal)} for "
            f"{rec.stop_timeout_s:g}s {what}; sending SIGKILL",
        )
    )
    kill(m, rec, fx)


def hurry(m: WatcherModel, now: float, fx: Effects) -> None:
    """Every process already on its way out gets SIGKILL after FAST_STOP_S at most."""
    for rec in m.processes.values():
        if (
            rec.state == ProcessState.STOPPING
            and rec.kill_at_s is not None
            and rec.kill_at_s - now > FAST_STOP_S
        ):
            rec.kill_at_s = now + FAST_STOP_S
            rec.stop_timeout_s = FAST_STOP_S
            start_timer(m, TimerKey(TimerKind.KILL, rec.pid), FAST_STOP_S, fx)


# ----------------------------------------------------------------------------- keeping numprocesses


def reconcile(m: WatcherModel, now: float, fx: Effects) -> None:
    """Bring the processes towards numprocesses: one spawn at a time (spaced by warmup_delay), scale
    down, recycle by max_age; and finish a start once everything asked for is spawned."""
    if m.phase not in (WatcherPhase.STARTING, WatcherPhase.RUNNING):
        return
    recycle(m, now, fx)
    target = m.settings.numprocesses
    missing = target - m.live - len(m.spawning)
    if missing > 0:
        if not m.spawning and TimerKey(TimerKind.WARMUP) not in m.timers:
            spawn(m, m.generation, fx)
        return
    if missing < 0 and not m.spawning:
        live = [r.view() for r in live_records(m) if not r.retiring]
        for pid in scale_down_victims(live, -missing, m.settings.scale_down):
            stop_process(m, m.processes[pid], "scale down", now, fx)
    if m.phase == WatcherPhase.STARTING and not m.spawning:
        complete_start(m, fx)


def recycle(m: WatcherModel, now: float, fx: Effects) -> None:
    """max_age, one process at a time and ready before replaced: the first due one retires (it stops
    counting, so its replacement spawns); once nothing is starting, the retiring one is stopped."""
    if m.counts[ProcessState.STARTING] or m.counts[ProcessState.STOPPING] or m.spawning:
        return
    if m.retiring_pid is not None:
        stop_process(m, m.processes[m.retiring_pid], "max_age", now, fx)
        return
    while m.due:
        rec = m.processes.get(m.due.popleft())
        if rec is not None and rec.state == ProcessState.RUNNING:
            rec.retiring = True
            m.retiring_pid = rec.pid
            fx.append(
                Log(
                    INFO,
                    f"recycling {m.label(rec.wid)} pid={rec.pid} (max_age): its replacement starts first",
                )
            )
            return


# ----------------------------------------------------------------------------- start


def begin_start(
    m: WatcherModel, command: CommandId, fx: Effects, *, kind: CommandKind = CommandKind.START, stopped=None
) -> None:
    m.phase = WatcherPhase.STARTING
    m.command = PendingCommand(command, kind, kept=sorted(m.processes), stopped=list(stopped or []))
    m.failing = False
    m.stop = None
    flapping.reset(m.flapping)
    fx.append(PrepareStart())


def complete_start(m: WatcherModel, fx: Effects) -> None:
    """Everything asked for is spawned (or flapping paused the start): after_start decides, if set."""
    cmd = m.command
    if cmd is None or cmd.kind not in (CommandKind.START, CommandKind.RESTART) or cmd.awaiting_hook:
        return
    if "after_start" in m.settings.hooks:
        cmd.awaiting_hook = True
        fx.append(RunHook("after_start", report=True))
        return
    announce_started(m, fx)


def announce_started(m: WatcherModel, fx: Effects) -> None:
    cmd = m.command
    assert cmd is not None
    if m.phase == WatcherPhase.STARTING:
        m.phase = WatcherPhase.RUNNING
    m.command = None
    fx.append(Log(INFO, f"{m.name} started with {m.live} process(es)"))
    fx.append(Publish(Started()))
    result: dict = {"started": sorted(p for p in m.processes if p not in cmd.kept), "kept": cmd.kept}
    if cmd.kind == CommandKind.RESTART:
        result["stopped"] = cmd.stopped
    fx.append(Complete(cmd.id, result))


# ----------------------------------------------------------------------------- stop


def begin_stop(
    m: WatcherModel,
    cause: StopCause,
    now: float,
    fx: Effects,
    *,
    command: PendingCommand | None = None,
    fast: bool = False,
    interrupted_by: str = "a stop",
) -> None:
    """Stop every process; `command` (stop, restart, rm) is answered once they have all exited. A
    start or a reload still under way fails, saying what interrupted it."""
    interrupt_command(m, interrupted_by, fx)
    fx.append(RunHook("before_stop"))
    for kind in _WATCHER_TIMERS:
        cancel_timer(m, TimerKey(kind), fx)
    m.phase = WatcherPhase.STOPPING
    m.stop = StopPlan(cause, fast=fast)
    m.command = command
    m.due.clear()
    if command is not None:
        command.stopped = sorted(m.processes)
    timeout = min(m.settings.graceful_timeout_s, FAST_STOP_S) if fast else None
    for rec in list(m.processes.values()):
        stop_process(m, rec, "stop", now, fx, timeout_s=timeout)
    if fast:
        hurry(m, now, fx)
    finish_stop_if_done(m, fx)


def interrupt_command(m: WatcherModel, by: str, fx: Effects) -> None:
    cmd = m.command
    if (
        cmd is not None
        and cmd.kind in (CommandKind.START, CommandKind.RESTART)
        and m.phase == WatcherPhase.STARTING
    ):
        fx.append(Fail(cmd.id, f"start of {m.name} interrupted by {by}", Errno.COMMAND_ERROR))
        m.command = None
    rolling = m.rolling
    if rolling is not None:
        if rolling.previous_settings is not None:
            m.settings = rolling.previous_settings
            if rolling.previous_flapping is not None:
                m.flapping = rolling.previous_flapping
            fx.append(RestoreConfig())
        fx.append(Fail(rolling.command, f"reload of {m.name} interrupted by {by}", Errno.COMMAND_ERROR))
        m.rolling = None


def finish_stop_if_done(m: WatcherModel, fx: Effects) -> None:
    if m.phase != WatcherPhase.STOPPING or m.processes or m.spawning:
        return
    plan = m.stop
    assert plan is not None
    m.phase = _STOP_ENDS_IN[plan.cause]
    m.stop = None
    fx.append(CloseStreams())
    fx.append(Log(INFO, f"{m.name} stopped"))
    fx.append(RunHook("after_stop"))
    fx.append(Publish(Stopped()))
    cmd, m.command = m.command, None
    for waiter in plan.waiters:
        fx.append(Complete(waiter.id, {"stopped": waiter.stopped}))
    if cmd is not None and cmd.kind == CommandKind.RESTART:
        begin_start(m, cmd.id, fx, kind=CommandKind.RESTART, stopped=cmd.stopped)
    elif cmd is not None:
        fx.append(Complete(cmd.id, {"stopped": cmd.stopped}))
    if plan.then_start is not None and m.phase in (WatcherPhase.STOPPED, WatcherPhase.GIVEN_UP):
        begin_start(m, plan.then_start, fx)
