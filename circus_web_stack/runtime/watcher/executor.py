"""The ONE place a watcher's effects are carried out: spawns, signals, timers, hooks, streams, events.

It never decides: whatever needs a decision goes back to the state machine as an event (a spawn done
or failed, an exit reaped, a timer due, a hook's outcome) through `submit`. Every effect returns
without waiting, except a spawn (fork + exec, about a millisecond).
"""

from __future__ import annotations

import logging
import random
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent

from circus_web_stack.core import effects as fx
from circus_web_stack.core.events import (
    Event,
    HookFailed,
    HookFinished,
    ProcessExited,
    ProcessSpawned,
    ReadyTimedOut,
    SpawnFailed,
    StartPrepared,
    StartRefused,
    TimerFired,
)
from circus_web_stack.core.exits import signal_name
from circus_web_stack.core.fsm_rolling import stderr_suffix
from circus_web_stack.core.leftovers import LeftGroup
from circus_web_stack.core.notices import Signalled
from circus_web_stack.core.timers import TimerKey, TimerKind
from circus_web_stack.runtime.process import Process
from circus_web_stack.runtime.system import Timer
from circus_web_stack.runtime.watcher.spawning import describe_spawn_failure

if TYPE_CHECKING:
    from circus_web_stack.runtime.watcher.facade import Watcher

log = logging.getLogger("circus_web_stack.watcher")

Submit = Callable[[Event], None]


class Executor:
    def __init__(
        self, watcher: Watcher, submit: Submit, answer: Callable[[fx.Complete | fx.Fail], None]
    ) -> None:
        self.watcher = watcher
        self.submit = submit
        self.answer = answer
        self._timers: dict[TimerKey, Timer] = {}
        self._lowered: dict[int, int] = {}  # pid -> the nice value it was lowered from

    def run(self, effect: fx.Effect) -> None:
        handler = _RUNNERS[type(effect)]
        handler(self, effect)

    # ------------------------------------------------------------------------- starting

    def prepare_start(self, effect: fx.PrepareStart) -> None:
        w = self.watcher
        if w.arbiter is not None and w.arbiter.stopping:
            self.submit(StartRefused("circusd is stopping"))
        elif not w.run_hook("before_start"):
            self.submit(StartRefused("the before_start hook failed"))
        else:
            try:
                w.streams.open(w.config)  # a bad stream (a missing directory) fails here
            except Exception as exc:  # whatever a stream class raises, the start must be answered
                self.submit(StartRefused(f"cannot open its streams: {exc}"))
                return
            # Its sockets listen again before anything spawns (runtime/socket_idle.py).
            problem = w.arbiter.idle_sockets.listen_for(w) if w.arbiter is not None else None
            self.submit(StartRefused(problem) if problem else StartPrepared())

    def spawn(self, effect: fx.Spawn) -> None:
        w = self.watcher
        if not w.run_hook("before_spawn"):
            self.submit(HookFailed("before_spawn", wid=effect.wid))
            return
        cfg = w.config
        try:
            spec = w.spec_builder.build(cfg, effect.wid, capture_stdout=w.streams.captures_stdout())
            child = w.system.spawn(spec)
        except Exception as exc:  # a spawn that raises is a failed spawn, never an unanswered one
            self.submit(SpawnFailed(effect.wid, describe_spawn_failure(cfg, exc)))
            return
        pid = child.pid
        proc = Process.for_child(
            w.name,
            effect.wid,
            child,
            w.system,
            generation=effect.generation,
            record=lambda: w.model.processes.get(pid),
        )
        # Tracked and watched before anything else can fail: a child nobody reaps would hang `stop`.
        w.processes[proc.pid] = proc
        if effect.lower_nice:
            lowered = w.system.lower_priority(proc.pid, effect.lower_nice)
            if lowered is not None:
                self._lowered[proc.pid] = lowered
        gevent.spawn(self._watch_exit, proc)
        w.streams.connect(cfg, proc.pid, child.stdout_fd, child.stderr_fd, proc.stderr_tail, w.tapped)
        self.submit(ProcessSpawned(effect.wid, proc.pid, random.random()))
        if not w.run_hook("after_spawn", pid=proc.pid):
            self.submit(HookFailed("after_spawn", pid=proc.pid))

    def _watch_exit(self, proc: Process) -> None:
        assert proc.child is not None
        system = self.watcher.system
        exit_code = system.wait_exit(proc.child)
        if system.group_outlives(proc.pid):  # stopped when circusd stops (runtime/leftovers.py)
            cfg = self.watcher.config
            label = f"{self.watcher.name}#{proc.wid} pid={proc.pid}"
            group = LeftGroup(label, proc.pid, system.wall_time(), cfg.stop_signal, cfg.graceful_timeout)
            self.watcher.left_groups.append(group)
        proc.reaped = True
        proc.exit_code = exit_code
        self._lowered.pop(proc.pid, None)
        self.watcher.processes.pop(proc.pid, None)
        proc.mark_exited()
        self.submit(ProcessExited(proc.pid, exit_code, tuple(proc.last_stderr_lines())))

    def restore_priority(self, effect: fx.RestorePriority) -> None:
        lowered = self._lowered.pop(effect.pid, None)
        proc = self.watcher.processes.get(effect.pid)
        if lowered is not None and proc is not None and not proc.reaped:
            self.watcher.system.restore_priority(effect.pid, lowered)

    # ------------------------------------------------------------------------- signals

    def signal(self, effect: fx.Signal) -> None:
        w = self.watcher
        proc = w.processes.get(effect.pid)
        if proc is None:
            return
        if effect.reason is None:
            proc.send_signal(effect.signum, children=effect.children, recursive=effect.recursive)
            return
        name = signal_name(effect.signum)
        if effect.signum != signal.SIGKILL and not w.run_hook(
            "before_signal", pid=proc.pid, signum=effect.signum
        ):
            log.info(
                "%s pid=%d: before_signal hook vetoed %s (%s)", proc.label, proc.pid, name, effect.reason
            )
            return
        log.info("stopping %s pid=%d (%s) with %s", proc.label, proc.pid, effect.reason, name)
        proc.send_signal(effect.signum, children=effect.children, recursive=effect.recursive)
        w.publish(Signalled(proc.pid))
        w.run_hook("after_signal", pid=proc.pid, signum=effect.signum)

    def kill_tree(self, effect: fx.KillTree) -> None:
        proc = self.watcher.processes.get(effect.pid)
        if proc is not None:
            proc.kill_tree()

    # ------------------------------------------------------------------------- timers

    def start_timer(self, effect: fx.StartTimer) -> None:
        self.cancel_timer(fx.CancelTimer(effect.key))
        key = effect.key
        self._timers[key] = self.watcher.system.call_later(effect.delay_s, lambda: self._fire(key))

    def _fire(self, key: TimerKey) -> None:
        self._timers.pop(key, None)
        if key.kind == TimerKind.READY_TIMEOUT and key.pid is not None:
            proc = self.watcher.processes.get(key.pid)
            tail = tuple(proc.last_stderr_lines()) if proc is not None else ()
            self.submit(ReadyTimedOut(key.pid, tail))
        else:
            self.submit(TimerFired(key))

    def cancel_timer(self, effect: fx.CancelTimer) -> None:
        timer = self._timers.pop(effect.key, None)
        if timer is not None:
            timer.cancel()

    def cancel_all_timers(self) -> None:
        for key in list(self._timers):
            self.cancel_timer(fx.CancelTimer(key))

    # ------------------------------------------------------------------------- the rest

    def publish(self, effect: fx.Publish) -> None:
        self.watcher.publish(effect.notice)

    def log(self, effect: fx.Log) -> None:
        log.log(effect.level, "%s%s", effect.message, stderr_suffix(effect.stderr_tail))

    def run_hook(self, effect: fx.RunHook) -> None:
        ok = self.watcher.run_hook(effect.hook, **dict(effect.arguments))
        if effect.report:
            self.submit(HookFinished(effect.hook, ok))

    def close_streams(self, effect: fx.CloseStreams) -> None:
        self.watcher.streams.close_all()

    def restore_config(self, effect: fx.RestoreConfig) -> None:
        self.watcher.restore_replaced()

    def release_replaced(self, effect: fx.ReleaseReplaced) -> None:
        self.watcher.release_replaced()

    def complete(self, effect: fx.Complete | fx.Fail) -> None:
        self.answer(effect)


_RUNNERS: dict[type, Callable[[Executor, fx.Effect], None]] = {
    fx.PrepareStart: Executor.prepare_start,
    fx.Spawn: Executor.spawn,
    fx.Signal: Executor.signal,
    fx.KillTree: Executor.kill_tree,
    fx.RestorePriority: Executor.restore_priority,
    fx.StartTimer: Executor.start_timer,
    fx.CancelTimer: Executor.cancel_timer,
    fx.Publish: Executor.publish,
    fx.Log: Executor.log,
    fx.RunHook: Executor.run_hook,
    fx.CloseStreams: Executor.close_streams,
    fx.RestoreConfig: Executor.restore_config,
    fx.ReleaseReplaced: Executor.release_replaced,
    fx.Complete: Executor.complete,
    fx.Fail: Executor.complete,
}
