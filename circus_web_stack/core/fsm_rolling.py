"""The rolling reload as steps of the watcher's state machine: begin, advance after every spawn,
readiness report and exit, roll back, finish. Pure.

Ready before replaced: core.rolling decides how many to spawn and stop at each step; an old process
is stopped (oldest first) only once a new one is ready. A new process that exits, fails to spawn or
misses ready_timeout rolls the reload back: the new generation is stopped, the old keeps serving, and
the settings a config change brought are put back.
"""

from __future__ import annotations

from collections import deque

from circus_web_stack.core import flapping
from circus_web_stack.core.effects import (
    ERROR,
    INFO,
    Complete,
    Fail,
    Log,
    Publish,
    ReleaseReplaced,
    RestoreConfig,
)
from circus_web_stack.core.errors import Errno
from circus_web_stack.core.events import ReloadRequested
from circus_web_stack.core.fsm_actions import (
    Effects,
    cancel_timer,
    live_records,
    reconcile,
    spawn,
    stop_process,
)
from circus_web_stack.core.notices import Reloaded
from circus_web_stack.core.rolling import plan_rolling_step, plan_sequential_step
from circus_web_stack.core.states import ProcessState, WatcherPhase
from circus_web_stack.core.timers import TimerKey, TimerKind
from circus_web_stack.core.watcher_model import ProcessRecord, Rolling, WatcherModel


def stderr_suffix(tail: tuple[str, ...]) -> str:
    """'; its last stderr lines: a | b' (or nothing), to say why a process failed."""
    return "; its last stderr lines: " + " | ".join(tail) if tail else ""


def begin_reload(m: WatcherModel, ev: ReloadRequested, now: float, fx: Effects) -> None:
    m.generation += 1
    old = sorted(live_records(m), key=lambda r: (r.started_s, r.pid))
    if m.retiring_pid is not None:
        m.processes[m.retiring_pid].retiring = False
        m.retiring_pid = None
    m.due.clear()
    cancel_timer(m, TimerKey(TimerKind.RESUME), fx)
    cancel_timer(m, TimerKey(TimerKind.WARMUP), fx)
    rolling = Rolling(ev.command, ev.sequential, deque(r.pid for r in old))
    if ev.settings is not None:
        rolling.previous_settings = m.settings
        rolling.previous_flapping = m.flapping.copy()
        apply_settings(m, ev.settings)
    m.rolling = rolling
    m.phase = WatcherPhase.ROLLING
    advance(m, now, fx)


def apply_settings(m: WatcherModel, settings) -> None:
    """New settings; a new flapping rule starts counting afresh."""
    if settings.flapping != m.settings.flapping:
        m.flapping = flapping.FlappingState()
    m.settings = settings


def advance(m: WatcherModel, now: float, fx: Effects) -> None:
    """The next step of the reload (or of its roll-back)."""
    r = m.rolling
    assert r is not None
    if r.failure is not None:
        if not r.new and not r.spawning:
            finish_rollback(m, now, fx)
        return
    new_ready = len(r.new_ready)
    new_starting = len(r.new) - new_ready + r.spawning
    counts = {"old": len(r.old), "new_starting": new_starting, "new_ready": new_ready}
    target = m.settings.numprocesses
    if r.sequential:
        step = plan_sequential_step(**counts, target=target, old_draining=len(r.retired))
    else:
        step = plan_rolling_step(**counts, target=target, max_surge=m.settings.max_surge)
    for _ in range(step.stop_old):
        pid = r.old.popleft()
        stop_process(m, m.processes[pid], "reload", now, fx)
        r.retired.add(pid)
        r.retired_total.append(pid)
    for _ in range(step.spawn):
        spawn(m, m.generation, fx)
        r.spawning += 1
    if step.spawn or step.stop_old or (step.done and not r.done_announced):
        r.done_announced = step.done
        fx.append(
            Publish(Reloaded(old=len(r.old), new=len(r.new) + r.spawning, ready=new_ready, done=step.done))
        )
    if step.done and not r.retired:
        finish_reload(m, now, fx)


def on_spawned(m: WatcherModel, rec: ProcessRecord, now: float, fx: Effects) -> None:
    r = m.rolling
    assert r is not None
    if rec.generation != m.generation:
        return
    r.spawning -= 1
    r.new.add(rec.pid)
    if r.failure is not None:
        stop_process(m, rec, "reload rolled back", now, fx)


def on_spawn_failed(m: WatcherModel, label: str, reason: str, now: float, fx: Effects) -> None:
    r = m.rolling
    assert r is not None
    r.spawning -= 1
    if r.failure is None:
        roll_back(m, f"{reason} ({label})", now, fx)
    else:
        advance(m, now, fx)


def on_exit(
    m: WatcherModel, rec: ProcessRecord, text: str, tail: tuple[str, ...], now: float, fx: Effects
) -> None:
    """`text`: how it ended (describe_exit)."""
    r = m.rolling
    assert r is not None
    pid = rec.pid
    if pid in r.new:
        r.new.discard(pid)
        was_ready = pid in r.new_ready
        r.new_ready.discard(pid)
        if r.failure is None:
            when = "after it was ready" if was_ready else "before it was ready"
            roll_back(m, f"{m.label(rec.wid)} pid={pid} {text} {when}{stderr_suffix(tail)}", now, fx)
            return
    elif pid in r.retired:
        r.retired.discard(pid)
    elif pid in r.old:
        r.old.remove(pid)  # died on its own meanwhile: the plan simply sees one fewer
    advance(m, now, fx)


def on_ready_timeout(
    m: WatcherModel, rec: ProcessRecord, tail: tuple[str, ...], now: float, fx: Effects
) -> None:
    r = m.rolling
    assert r is not None
    if rec.pid not in r.new or r.failure is not None or rec.state != ProcessState.STARTING:
        return  # an old process still starting is replaced anyway
    timeout = m.settings.ready_timeout_s
    cause = f"{m.label(rec.wid)} pid={rec.pid} was not ready after {timeout:g}s (ready_timeout)"
    roll_back(m, cause + stderr_suffix(tail), now, fx)


def roll_back(m: WatcherModel, cause: str, now: float, fx: Effects) -> None:
    r = m.rolling
    assert r is not None
    r.failure = cause
    for pid in list(r.new):
        stop_process(m, m.processes[pid], "reload rolled back", now, fx)
    advance(m, now, fx)


def finish_rollback(m: WatcherModel, now: float, fx: Effects) -> None:
    r = m.rolling
    assert r is not None and r.failure is not None
    if r.previous_settings is not None:
        m.settings = r.previous_settings
        m.flapping = r.previous_flapping or m.flapping
        fx.append(RestoreConfig())
    fx.append(Log(ERROR, f"{m.name}: reload rolled back: {r.failure}; the previous processes keep serving"))
    fx.append(Publish(Reloaded(rolled_back=True, reason=r.failure)))
    fx.append(
        Fail(
            r.command,
            f"reload of {m.name} rolled back: {r.failure}; the previous processes keep serving",
            Errno.COMMAND_ERROR,
        )
    )
    m.rolling = None
    m.phase = WatcherPhase.RUNNING
    reconcile(m, now, fx)


def finish_reload(m: WatcherModel, now: float, fx: Effects) -> None:
    r = m.rolling
    assert r is not None
    if r.previous_settings is not None:
        fx.append(ReleaseReplaced())
    fx.append(
        Log(
            INFO, f"{m.name} reloaded: {len(r.new)} new process(es) ready, {len(r.retired_total)} old stopped"
        )
    )
    fx.append(Complete(r.command, {"stopped": r.retired_total, "started": sorted(r.new), "kept": []}))
    m.rolling = None
    m.phase = WatcherPhase.RUNNING
    reconcile(m, now, fx)
