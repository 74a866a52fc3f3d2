"""The one place a watcher decides: step(model, event, now) -> effects. Pure.

TRANSITIONS declares, for every phase, which events may arrive and which phases each may lead to.
step() refuses an event the table does not list for the current phase, and checks the phase it lands
in, raising InvalidTransition naming both: a bug shows at once instead of as a watcher stuck in a
wrong phase. The model is changed in place (a copy per event would make a start of 5,000 processes
quadratic); the effects are returned, for runtime.watcher.executor to carry out in order. The
commands' steps are in core.fsm_commands; the facts' (spawns, exits, readiness, timers, hooks) here.
"""

from __future__ import annotations

from collections.abc import Callable

from circus_web_stack.core import flapping
from circus_web_stack.core import fsm_rolling as rolling
from circus_web_stack.core.effects import (
    ERROR,
    INFO,
    WARNING,
    Complete,
    Effect,
    Fail,
    Log,
    Publish,
    RunHook,
)
from circus_web_stack.core.errors import Errno, InvalidTransition
from circus_web_stack.core.events import (
    Event,
    HookFailed,
    HookFinished,
    HurryRequested,
    KillRequested,
    ProcessExited,
    ProcessReady,
    ProcessSpawned,
    ReadyTimedOut,
    ReloadRequested,
    RemoveRequested,
    RestartRequested,
    ScaleRequested,
    SettingsChanged,
    SpawnFailed,
    StartPrepared,
    StartRefused,
    StartRequested,
    StopRequested,
    TimerFired,
)
from circus_web_stack.core.exits import describe_exit
from circus_web_stack.core.fsm_actions import (
    KILL_WAIT_S,
    LOWERED_AT_MOST_S,
    Effects,
    announce_started,
    begin_stop,
    cancel_timer,
    finish_stop_if_done,
    graceful_timeout_over,
    mark_ready,
    reconcile,
    restore_priority,
    set_state,
    start_timer,
    stop_process,
)
from circus_web_stack.core.fsm_commands import COMMAND_HANDLERS, replan
from circus_web_stack.core.fsm_flapping import after_unexpected
from circus_web_stack.core.notices import Reaped, Spawned
from circus_web_stack.core.scale import expiry_deadline
from circus_web_stack.core.settings import Readiness
from circus_web_stack.core.states import SUPERVISING_PHASES, ProcessState, WatcherPhase
from circus_web_stack.core.timers import PROCESS_TIMER_KINDS, TimerKey, TimerKind
from circus_web_stack.core.watcher_model import (
    ProcessRecord,
    StopCause,
    WatcherModel,
)

P = WatcherPhase
ST, SG, RU, RO, PA, SP, GU, RM = (
    P.STOPPED,
    P.STARTING,
    P.RUNNING,
    P.ROLLING,
    P.PAUSED,
    P.STOPPING,
    P.GIVEN_UP,
    P.REMOVED,
)
STAYS: frozenset[WatcherPhase] = frozenset()


def _to(*phases: WatcherPhase) -> frozenset[WatcherPhase]:
    return frozenset(phases)


def _stays(*phases: WatcherPhase) -> dict[WatcherPhase, frozenset[WatcherPhase]]:
    return dict.fromkeys(phases, STAYS)


# A stop that ends with the event: in the phase its cause names, or starting again (a restart, a start
# that waited for it).
_STOP_ENDS = _to(ST, GU, RM, SG)
# After an unexpected exit or a failed spawn: a flapping pause, a give-up (stopping until the last
# process is gone), or, respawn being off, a stop.
_UNEXPECTED = _to(PA, SP, ST, GU)
_ALL = tuple(P)
_AT_REST_OR_GONE = (ST, GU, RM)

# (event type) -> {phase it may arrive in: the phases it may lead to; STAYS: none}. A pair not listed is
# impossible: the facade serialises the commands that take its lock (all but stop and hurry), so a
# scale, a kill or an rm never arrives while a start or a reload is under way; a removed watcher
# refuses every command. docs/states.md is generated from this table.
TRANSITIONS: dict[type, dict[WatcherPhase, frozenset[WatcherPhase]]] = {
    StartRequested: {ST: _to(SG), GU: _to(SG), **_stays(RU, PA, SP)},  # in SP: once the stop ends
    StopRequested: {**dict.fromkeys((SG, RU, RO, PA), _to(SP, ST)), **_stays(ST, GU, SP)},
    RestartRequested: {ST: _to(SG), GU: _to(SG), RU: _to(SP, SG), PA: _to(SP, SG), **_stays(SP)},
    ScaleRequested: _stays(ST, RU, PA, SP, GU),
    SettingsChanged: _stays(ST, RU, PA, SP, GU),
    # RO: rolling; RU: nothing to replace, or send_hup; SP, SG: graceful=False is a restart.
    # In SP it is refused: the watcher is on its way out.
    ReloadRequested: {ST: _to(SG), GU: _to(SG), RU: _to(RO, SP, SG), PA: _to(RO, RU, SP, SG), **_stays(SP)},
    KillRequested: _stays(ST, RU, PA, SP, GU),
    RemoveRequested: {ST: _to(RM), GU: _to(RM), RU: _to(SP, RM), PA: _to(SP, RM), SP: _to(RM)},
    HurryRequested: _stays(*_ALL),
    # A stop may overtake a start before its preparation or its after_start hook reports.
    StartPrepared: {**_stays(*_ALL), SG: _to(RU)},
    StartRefused: {**_stays(*_ALL), SG: _to(ST)},
    HookFinished: {**_stays(*_ALL), SG: _to(RU, SP, GU), PA: _to(SP, GU)},
    HookFailed: {**dict.fromkeys((SG, RU, RO, PA), _to(SP, GU)), SP: _STOP_ENDS, **_stays(*_AT_REST_OR_GONE)},
    # The facts about processes. ROLLING ends in RUNNING (done, or rolled back) whatever happens.
    ProcessSpawned: {SG: _to(RU), RO: _to(RU), **_stays(RU, PA, SP, *_AT_REST_OR_GONE)},
    SpawnFailed: {
        SG: _to(PA, SP, GU),
        RU: _to(PA, SP, GU),
        PA: _to(SP, GU),
        RO: _to(RU),
        SP: _STOP_ENDS,
        **_stays(*_AT_REST_OR_GONE),
    },
    ProcessReady: {SG: _to(RU), RO: _to(RU), **_stays(RU, PA, SP, *_AT_REST_OR_GONE)},
    ProcessExited: {
        SG: _UNEXPECTED | {RU},
        RU: _UNEXPECTED,
        PA: _UNEXPECTED - {PA},
        RO: _to(RU),
        SP: _STOP_ENDS,
        **_stays(*_AT_REST_OR_GONE),
    },
    ReadyTimedOut: {RO: _to(RU), **_stays(SG, RU, PA, SP, *_AT_REST_OR_GONE)},
    TimerFired: {SG: _to(RU), PA: _to(RU), RO: _to(RU), **_stays(RU, SP, *_AT_REST_OR_GONE)},
}


def step(m: WatcherModel, event: Event, now: float) -> list[Effect]:
    """Apply one event to the model at monotonic time `now`; the effects to carry out, in order."""
    rows = TRANSITIONS.get(type(event), {})
    before = m.phase
    if before not in rows:
        raise InvalidTransition(f"watcher {m.name}: {type(event).__name__} is impossible while {before}")
    fx: Effects = []
    _HANDLERS[type(event)](m, event, now, fx)
    if m.phase != before and m.phase not in rows[before]:
        raise InvalidTransition(
            f"watcher {m.name}: {type(event).__name__} while {before} may not lead to {m.phase}"
        )
    return fx


# ----------------------------------------------------------------------------- facts


def _prepared(m: WatcherModel, ev: StartPrepared, now: float, fx: Effects) -> None:
    if m.phase == P.STARTING:
        reconcile(m, now, fx)


def _refused(m: WatcherModel, ev: StartRefused, now: float, fx: Effects) -> None:
    if m.phase != P.STARTING or m.command is None:
        return
    cmd, m.command = m.command, None
    m.phase = P.STOPPED
    fx.append(Fail(cmd.id, f"{m.name}: {ev.reason}; not starting", Errno.MESSAGE_ERROR))


def _spawned(m: WatcherModel, ev: ProcessSpawned, now: float, fx: Effects) -> None:
    asked = m.spawning.pop(ev.wid, None)
    generation = asked.generation if asked is not None else m.generation
    cfg = m.settings
    rec = ProcessRecord(
        ev.pid,
        ev.wid,
        generation,
        now,
        expires_s=expiry_deadline(now, cfg.max_age_s, cfg.max_age_variance_s, ev.expiry_fraction),
        lowered=asked is not None and asked.lowered,
    )
    m.processes[ev.pid] = rec
    m.counts[ProcessState.STARTING] += 1
    flapping.record_spawn(m.flapping)
    fx.append(Log(INFO, f"spawned {m.label(ev.wid)} pid={ev.pid}"))
    fx.append(Publish(Spawned(ev.pid, ev.wid)))
    if m.phase == P.ROLLING:
        rolling.on_spawned(m, rec, now, fx)
    elif m.phase not in (P.STARTING, P.RUNNING, P.PAUSED):
        stop_process(m, rec, "stop", now, fx)  # asked for before the stop began
        return
    if rec.state != ProcessState.STARTING:
        return
    if rec.lowered:
        start_timer(m, TimerKey(TimerKind.NICE, rec.pid), LOWERED_AT_MOST_S, fx)
    if rec.expires_s is not None:
        start_timer(m, TimerKey(TimerKind.RECYCLE, rec.pid), rec.expires_s - now, fx)
    if m.awaits_ready_signal:
        start_timer(m, TimerKey(TimerKind.READY_TIMEOUT, rec.pid), cfg.ready_timeout_s, fx)
    elif cfg.warmup_delay_s > 0:
        start_timer(m, TimerKey(TimerKind.ALIVE, rec.pid), cfg.warmup_delay_s, fx)
    else:
        mark_ready(m, rec, now, fx)
    if cfg.warmup_delay_s > 0 and m.phase in (P.STARTING, P.RUNNING):
        start_timer(m, TimerKey(TimerKind.WARMUP), cfg.warmup_delay_s, fx)
    replan(m, now, fx)


def _spawn_failed(m: WatcherModel, ev: SpawnFailed, now: float, fx: Effects) -> None:
    m.spawning.pop(ev.wid, None)
    m.wids.release(ev.wid)
    label = m.label(ev.wid)
    fx.append(Log(ERROR, f"{label}: {ev.reason}"))
    if m.phase == P.ROLLING:
        rolling.on_spawn_failed(m, label, ev.reason, now, fx)
    elif m.phase in (P.STARTING, P.RUNNING, P.PAUSED):
        after_unexpected(m, flapping.record_spawn_failure(m.flapping, m.settings.flapping, now), now, fx)
    else:
        finish_stop_if_done(m, fx)


def _ready(m: WatcherModel, ev: ProcessReady, now: float, fx: Effects) -> None:
    rec = m.processes.get(ev.pid)
    if rec is None:
        return
    if m.settings.readiness != Readiness.ALIVE:
        m.notifies_ready = True
    if rec.state == ProcessState.STARTING:
        mark_ready(m, rec, now, fx)
        replan(m, now, fx)


def _exited(m: WatcherModel, ev: ProcessExited, now: float, fx: Effects) -> None:
    rec = m.processes.pop(ev.pid, None)
    if rec is None:
        return
    expected = rec.state == ProcessState.STOPPING
    set_state(m, rec, ProcessState.EXITED)
    m.wids.release(rec.wid)
    for kind in PROCESS_TIMER_KINDS:
        cancel_timer(m, TimerKey(kind, rec.pid), fx)
    label = f"{m.label(rec.wid)} pid={rec.pid}"
    text = describe_exit(ev.exit_code, killed_by_us=rec.killed_by_us)
    fx.append(RunHook("before_reap", (("process_pid", rec.pid),)))
    if expected:
        fx.append(Log(INFO, f"reaped {label} ({rec.stop_reason}): {text}"))
    else:
        fx.append(Log(WARNING, f"exited {label}: {text} after {now - rec.started_s:.1f}s", ev.stderr_tail))
    fx.append(Publish(Reaped(rec.pid, rec.wid, ev.exit_code, expected)))
    fx.append(RunHook("after_reap", (("process_pid", rec.pid), ("exit_code", ev.exit_code))))
    _answer_kills(m, rec.pid, fx)
    if m.phase == P.STOPPING:
        finish_stop_if_done(m, fx)
    elif m.phase == P.ROLLING:
        rolling.on_exit(m, rec, text, ev.stderr_tail, now, fx)
    elif m.phase in (P.STARTING, P.RUNNING, P.PAUSED):
        if expected:
            reconcile(m, now, fx)
        elif not m.settings.respawn:
            if not m.processes and not m.spawning:
                fx.append(
                    Log(
                        INFO, f"{m.name}: every process has exited and respawn is off; the watcher is stopped"
                    )
                )
                begin_stop(m, StopCause.NO_RESPAWN, now, fx)
        else:
            after_unexpected(m, flapping.record_exit(m.flapping, m.settings.flapping, now), now, fx)


def _answer_kills(m: WatcherModel, pid: int, fx: Effects) -> None:
    for command, order in list(m.kills.items()):
        order.waiting_for.discard(pid)
        if not order.waiting_for:
            del m.kills[command]
            fx.append(Complete(command, {"pids": order.pids}))


def _ready_timed_out(m: WatcherModel, ev: ReadyTimedOut, now: float, fx: Effects) -> None:
    key = TimerKey(TimerKind.READY_TIMEOUT, ev.pid)
    if key not in m.timers:
        return  # cancelled meanwhile
    m.timers.discard(key)
    rec = m.processes.get(ev.pid)
    if rec is None or rec.state != ProcessState.STARTING:
        return
    if m.phase == P.ROLLING:
        rolling.on_ready_timeout(m, rec, ev.stderr_tail, now, fx)
        return
    # As systemd judges a Type=notify service: not ready in time is a failed start. It is stopped and,
    # like any process that ends, replaced; left starting it would hold back recycling and --waiting.
    fx.append(
        Log(
            ERROR,
            f"{m.label(rec.wid)} pid={rec.pid} was not ready after {m.settings.ready_timeout_s:g}s "
            "(ready_timeout); stopping it",
            ev.stderr_tail,
        )
    )
    stop_process(m, rec, "not ready after ready_timeout", now, fx)


def _timer(m: WatcherModel, ev: TimerFired, now: float, fx: Effects) -> None:
    if ev.key not in m.timers:
        return  # cancelled after it was due
    m.timers.discard(ev.key)
    kind = ev.key.kind
    rec = m.processes.get(ev.key.pid) if ev.key.pid is not None else None
    if kind == TimerKind.RESUME:
        if m.phase == P.PAUSED:
            m.phase = P.RUNNING
            fx.append(Log(INFO, f"{m.name}: resuming after the flapping pause"))
            reconcile(m, now, fx)
    elif kind == TimerKind.WARMUP:
        reconcile(m, now, fx)
    elif rec is None:
        return
    elif kind == TimerKind.KILL and rec.state == ProcessState.STOPPING:
        graceful_timeout_over(m, rec, fx)
    elif kind == TimerKind.KILL_WAIT:
        fx.append(
            Log(
                ERROR,
                f"{m.label(rec.wid)} pid={rec.pid} survived SIGKILL for {KILL_WAIT_S:g}s "
                "(uninterruptible sleep?)",
            )
        )
    elif kind == TimerKind.NICE:
        restore_priority(m, rec, fx)
    elif kind == TimerKind.ALIVE and rec.state == ProcessState.STARTING:
        mark_ready(m, rec, now, fx)
        replan(m, now, fx)
    elif kind == TimerKind.RECYCLE and rec.state in (ProcessState.STARTING, ProcessState.RUNNING):
        rec.due = True
        m.due.append(rec.pid)
        reconcile(m, now, fx)


def _hook_finished(m: WatcherModel, ev: HookFinished, now: float, fx: Effects) -> None:
    cmd = m.command
    if ev.hook != "after_start" or cmd is None or not cmd.awaiting_hook:
        return
    if ev.ok:
        announce_started(m, fx)
        return
    m.command = None
    fx.append(Log(ERROR, f"{m.name}: after_start hook failed; stopping the watcher"))
    fx.append(Fail(cmd.id, f"{m.name}: the after_start hook failed; watcher stopped"))
    begin_stop(m, StopCause.HOOK_FAILED, now, fx)


def _hook_failed(m: WatcherModel, ev: HookFailed, now: float, fx: Effects) -> None:
    if ev.wid is not None and m.spawning.pop(ev.wid, None) is not None:
        m.wids.release(ev.wid)
        if m.rolling is not None:
            m.rolling.spawning -= 1
    rec = m.processes.get(ev.pid) if ev.pid is not None else None
    if rec is not None:
        stop_process(m, rec, f"{ev.hook} hook failed", now, fx, timeout_s=0)
    if m.phase in SUPERVISING_PHASES:
        what = f" for pid {ev.pid}" if ev.pid is not None else ""
        fx.append(Log(ERROR, f"{m.name}: {ev.hook} hook failed{what}; stopping the watcher"))
        begin_stop(m, StopCause.HOOK_FAILED, now, fx, interrupted_by=f"a failed {ev.hook} hook")
    else:
        finish_stop_if_done(m, fx)


_HANDLERS: dict[type, Callable[[WatcherModel, Event, float, Effects], None]] = {
    **COMMAND_HANDLERS,
    StartPrepared: _prepared,
    StartRefused: _refused,
    ProcessSpawned: _spawned,
    SpawnFailed: _spawn_failed,
    ProcessReady: _ready,
    ProcessExited: _exited,
    ReadyTimedOut: _ready_timed_out,
    TimerFired: _timer,
    HookFinished: _hook_finished,
    HookFailed: _hook_failed,
}
