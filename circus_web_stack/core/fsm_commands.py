"""The watcher's commands as steps of its state machine: start, stop, restart, scale, settings,
reload, kill, rm, hurry. Pure; core.watcher_fsm dispatches to them (COMMAND_HANDLERS)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import replace

from circus_web_stack.core import fsm_rolling as rolling
from circus_web_stack.core.effects import (
    INFO,
    Complete,
    Fail,
    Log,
    Publish,
    Signal,
)
from circus_web_stack.core.errors import Errno
from circus_web_stack.core.events import (
    Event,
    HurryRequested,
    KillRequested,
    ReloadRequested,
    RemoveRequested,
    RestartRequested,
    ScaleRequested,
    SettingsChanged,
    StartRequested,
    StopRequested,
)
from circus_web_stack.core.fsm_actions import (
    Effects,
    begin_start,
    begin_stop,
    cancel_timer,
    hurry,
    live_records,
    reconcile,
    stop_process,
)
from circus_web_stack.core.notices import Reloaded, Updated
from circus_web_stack.core.states import AT_REST_PHASES as _AT_REST
from circus_web_stack.core.states import ProcessState, WatcherPhase
from circus_web_stack.core.watcher_model import (
    CommandKind,
    KillOrder,
    PendingCommand,
    StopCause,
    WatcherModel,
)

P = WatcherPhase


def _start(m: WatcherModel, ev: StartRequested, now: float, fx: Effects) -> None:
    if m.phase in _AT_REST:
        begin_start(m, ev.command, fx)
    elif m.phase == P.STOPPING:
        assert m.stop is not None
        m.stop.then_start = ev.command
    else:
        fx.append(Complete(ev.command, {"started": [], "kept": sorted(m.processes)}))


def _stop(m: WatcherModel, ev: StopRequested, now: float, fx: Effects) -> None:
    if m.phase in _AT_REST:
        fx.append(Complete(ev.command, {"stopped": []}))
    elif m.phase == P.STOPPING:
        plan = m.stop
        assert plan is not None
        _drop_queued_start(m, f"stop {m.name}", fx)
        own = m.command
        this = PendingCommand(ev.command, CommandKind.STOP, stopped=sorted(m.processes))
        if own is not None and own.kind in (CommandKind.STOP, CommandKind.REMOVE):
            plan.waiters.append(this)  # answered when that command's stop ends
        else:  # a stop of its own (flapping, a hook) or a restart's first half: it ends here, stopped
            if own is not None:
                fx.append(Fail(own.id, f"restart of {m.name} interrupted by stop", Errno.COMMAND_ERROR))
            plan.cause = StopCause.COMMAND
            m.command = this
        if ev.fast and not plan.fast:
            plan.fast = True
            hurry(m, now, fx)
    else:
        command = PendingCommand(ev.command, CommandKind.STOP)
        begin_stop(m, StopCause.COMMAND, now, fx, command=command, fast=ev.fast)


def _drop_queued_start(m: WatcherModel, by: str, fx: Effects) -> None:
    """A start (or restart) waiting for the stop under way to end fails: a later command overtook it."""
    if m.stop is not None and m.stop.then_start is not None:
        fx.append(Fail(m.stop.then_start, f"start of {m.name} interrupted by {by}", Errno.COMMAND_ERROR))
        m.stop.then_start = None


def _restart(m: WatcherModel, ev: RestartRequested, now: float, fx: Effects) -> None:
    if m.phase in _AT_REST:
        begin_start(m, ev.command, fx, kind=CommandKind.RESTART)
    elif m.phase == P.STOPPING:  # a stop under way (a `stop`, a give-up) does the stopping half
        assert m.stop is not None
        m.stop.then_start = ev.command
    else:
        begin_stop(m, StopCause.COMMAND, now, fx, command=PendingCommand(ev.command, CommandKind.RESTART))


def _scale(m: WatcherModel, ev: ScaleRequested, now: float, fx: Effects) -> None:
    if m.settings.singleton and ev.numprocesses > 1:
        fx.append(
            Fail(ev.command, f"{m.name} is a singleton: numprocesses must be 0 or 1, not {ev.numprocesses}")
        )
        return
    m.settings = replace(m.settings, numprocesses=max(0, ev.numprocesses))
    fx.append(Publish(Updated(key="numprocesses")))
    replan(m, now, fx)
    fx.append(Complete(ev.command, {"numprocesses": m.settings.numprocesses}))


def _settings(m: WatcherModel, ev: SettingsChanged, now: float, fx: Effects) -> None:
    rolling.apply_settings(m, ev.settings)
    replan(m, now, fx)
    fx.append(Complete(ev.command))


def _reload(m: WatcherModel, ev: ReloadRequested, now: float, fx: Effects) -> None:
    if m.phase == P.STOPPING:
        fx.append(Fail(ev.command, f"{m.name} is stopping; not reloading", Errno.COMMAND_ERROR))
        return
    if ev.settings is not None and (m.phase in _AT_REST or ev.restart):
        rolling.apply_settings(m, ev.settings)
    if m.phase in _AT_REST:
        begin_start(m, ev.command, fx, kind=CommandKind.RESTART)
    elif ev.restart:
        begin_stop(m, StopCause.COMMAND, now, fx, command=PendingCommand(ev.command, CommandKind.RESTART))
    elif m.settings.send_hup and not ev.config_change:
        live = live_records(m)
        for rec in live:
            fx.append(Signal(rec.pid, signal.SIGHUP))
        fx.append(Publish(Reloaded()))
        fx.append(Complete(ev.command, {"stopped": [], "started": [], "kept": sorted(m.processes)}))
    else:
        rolling.begin_reload(m, ev, now, fx)


def _kill(m: WatcherModel, ev: KillRequested, now: float, fx: Effects) -> None:
    targets = [m.processes[pid] for pid in ev.pids if pid in m.processes]
    for rec in targets:
        stop_process(m, rec, "kill command", now, fx, signum=ev.signum, timeout_s=ev.timeout_s)
    waiting = {r.pid for r in targets if r.state != ProcessState.EXITED}
    if waiting:
        m.kills[ev.command] = KillOrder([r.pid for r in targets], waiting)
    else:
        fx.append(Complete(ev.command, {"pids": [r.pid for r in targets]}))
    replan(m, now, fx)


def _remove(m: WatcherModel, ev: RemoveRequested, now: float, fx: Effects) -> None:
    by = f"rm {m.name}"
    if ev.nostop:
        _abandon_stop(m, f"{by} --nostop", fx)
        pids = sorted(m.processes)
        for key in list(m.timers):
            cancel_timer(m, key, fx)
        fx.append(Log(INFO, f"{m.name} removed without stopping; pids {pids} keep running unsupervised"))
        m.phase = P.REMOVED
        fx.append(Complete(ev.command))
    elif m.phase in _AT_REST:
        m.phase = P.REMOVED
        fx.append(Complete(ev.command))
    elif m.phase == P.STOPPING:  # the stop under way ends in the removal
        plan = m.stop
        assert plan is not None
        _drop_queued_start(m, by, fx)
        own = m.command
        if own is not None and own.kind == CommandKind.STOP:
            plan.waiters.append(own)
        elif own is not None:
            fx.append(Fail(own.id, f"{own.kind} of {m.name} interrupted by {by}", Errno.COMMAND_ERROR))
        plan.cause = StopCause.REMOVE
        m.command = PendingCommand(ev.command, CommandKind.REMOVE, stopped=sorted(m.processes))
    else:
        command = PendingCommand(ev.command, CommandKind.REMOVE)
        begin_stop(m, StopCause.REMOVE, now, fx, command=command, interrupted_by=by)


def _abandon_stop(m: WatcherModel, by: str, fx: Effects) -> None:
    """rm --nostop during a stop: the processes are left running, so whatever waited for the stop fails."""
    plan = m.stop
    if plan is None:
        return
    _drop_queued_start(m, by, fx)
    waiting = [*([m.command] if m.command is not None else []), *plan.waiters]
    for cmd in waiting:
        fx.append(Fail(cmd.id, f"{cmd.kind} of {m.name} interrupted by {by}", Errno.COMMAND_ERROR))
    m.command = None
    m.stop = None


def _hurry(m: WatcherModel, ev: HurryRequested, now: float, fx: Effects) -> None:
    if m.stop is not None:
        m.stop.fast = True
    hurry(m, now, fx)


def replan(m: WatcherModel, now: float, fx: Effects) -> None:
    if m.phase == P.ROLLING:
        rolling.advance(m, now, fx)
    else:
        reconcile(m, now, fx)


COMMAND_HANDLERS: dict[type, Callable[[WatcherModel, Event, float, Effects], None]] = {
    StartRequested: _start,
    StopRequested: _stop,
    RestartRequested: _restart,
    ScaleRequested: _scale,
    SettingsChanged: _settings,
    ReloadRequested: _reload,
    KillRequested: _kill,
    RemoveRequested: _remove,
    HurryRequested: _hurry,
}
