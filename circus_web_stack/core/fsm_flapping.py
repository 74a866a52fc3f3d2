"""The watcher's steps when its processes keep failing: respawn, a flapping pause, or giving up, as
core.flapping decides (one policy for unexpected exits and failed spawns). Pure."""

from __future__ import annotations

from circus_web_stack.core import flapping
from circus_web_stack.core.effects import ERROR, WARNING, Log, Publish
from circus_web_stack.core.fsm_actions import Effects, begin_stop, complete_start, reconcile, start_timer
from circus_web_stack.core.notices import Flapping
from circus_web_stack.core.states import WatcherPhase
from circus_web_stack.core.timers import TimerKey, TimerKind
from circus_web_stack.core.watcher_model import StopCause, WatcherModel


def after_unexpected(
    m: WatcherModel, decision: flapping.Pause | flapping.GiveUp | None, now: float, fx: Effects
) -> None:
    m.failing = True
    if isinstance(decision, flapping.Pause):
        pause(m, decision, fx)
    elif isinstance(decision, flapping.GiveUp):
        give_up(m, decision.why, now, fx)
    else:
        reconcile(m, now, fx)


def pause(m: WatcherModel, decision: flapping.Pause, fx: Effects) -> None:
    rule = m.settings.flapping
    left = "unlimited retries" if decision.retries_left is None else f"{decision.retries_left} retries left"
    fx.append(
        Log(
            WARNING,
            f"{m.name} is flapping: {rule.attempts} exits within {rule.window_s:g}s; pausing "
            f"{decision.retry_in_s:g}s (pause {decision.attempt}, {left})",
        )
    )
    fx.append(
        Publish(
            Flapping(
                rule.attempts,
                rule.window_s,
                decision.retry_in_s,
                decision.retries_left,
                pause=decision.attempt,
            )
        )
    )
    start_timer(m, TimerKey(TimerKind.RESUME), decision.retry_in_s, fx)
    if m.phase == WatcherPhase.STARTING:
        complete_start(m, fx)
    if m.phase in (WatcherPhase.STARTING, WatcherPhase.RUNNING):
        m.phase = WatcherPhase.PAUSED


def give_up(m: WatcherModel, why: str, now: float, fx: Effects) -> None:
    rule = m.settings.flapping
    fx.append(
        Log(
            ERROR,
            f"{m.name}: giving up: {why}; the watcher is stopped (circusctl start {m.name} to try again)",
        )
    )
    fx.append(Publish(Flapping(rule.attempts, rule.window_s, None, 0, reason=why)))
    begin_stop(m, StopCause.GAVE_UP, now, fx, interrupted_by=f"giving up: {why}")
