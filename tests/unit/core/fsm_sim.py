"""A pure simulator for core.watcher_fsm: feeds events, answers spawns with fake pids, keeps the
timers on a fake clock that jumps to the next deadline. No process, no sleep: a 30 s graceful timeout
passes in microseconds."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from circus_web_stack.core import effects as fx
from circus_web_stack.core.events import (
    Event,
    ProcessExited,
    ProcessReady,
    ProcessSpawned,
    ReadyTimedOut,
    SpawnFailed,
    StartPrepared,
    TimerFired,
)
from circus_web_stack.core.settings import LifecycleSettings
from circus_web_stack.core.timers import TimerKey, TimerKind
from circus_web_stack.core.watcher_fsm import step
from circus_web_stack.core.watcher_model import WatcherModel


@dataclass
class Sim:
    settings: LifecycleSettings = field(default_factory=LifecycleSettings)
    now: float = 0.0
    fail_spawns: bool = False  # every spawn fails
    model: WatcherModel = field(init=False)
    effects: list[fx.Effect] = field(default_factory=list)  # everything carried out, in order
    answers: dict[int, fx.Complete | fx.Fail] = field(default_factory=dict)
    alive: set[int] = field(default_factory=set)
    timers: dict[TimerKey, float] = field(default_factory=dict)
    signalled: list[tuple[int, int]] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)
    _pids: itertools.count = field(default_factory=lambda: itertools.count(100))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.model = WatcherModel("web", self.settings)

    def command(self, make) -> int:
        cid = next(self._ids)
        self.feed(make(cid))
        return cid

    def feed(self, event: Event) -> None:
        """Apply `event` and everything it leads to at once (spawns answered, hooks passing)."""
        pending = [event]
        while pending:
            for effect in step(self.model, pending.pop(0), self.now):
                self.effects.append(effect)
                pending.extend(self._carry_out(effect))

    def _carry_out(self, effect: fx.Effect) -> list[Event]:
        if isinstance(effect, fx.PrepareStart):
            return [StartPrepared()]
        if isinstance(effect, fx.Spawn):
            if self.fail_spawns:
                return [SpawnFailed(effect.wid, "cannot spawn 'app': command not found: 'app'")]
            pid = next(self._pids)
            self.alive.add(pid)
            return [ProcessSpawned(effect.wid, pid)]
        if isinstance(effect, fx.StartTimer):
            self.timers[effect.key] = self.now + effect.delay_s
        elif isinstance(effect, fx.CancelTimer):
            self.timers.pop(effect.key, None)
        elif isinstance(effect, fx.Signal):
            self.signalled.append((effect.pid, effect.signum))
        elif isinstance(effect, fx.KillTree):
            self.killed.append(effect.pid)
        elif isinstance(effect, fx.Complete | fx.Fail):
            self.answers[effect.command] = effect
        return []

    # ------------------------------------------------------------------ the world acts

    def exit(self, pid: int, code: int = 0) -> None:
        self.alive.discard(pid)
        self.feed(ProcessExited(pid, code, ("boom",) if code else ()))

    def ready(self, pid: int) -> None:
        self.feed(ProcessReady(pid))

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, firing every timer due meanwhile in deadline order."""
        until = self.now + seconds
        while True:
            due = [(t, k) for k, t in self.timers.items() if t <= until]
            if not due:
                break
            when, key = min(due, key=lambda item: (item[0], str(item[1])))
            del self.timers[key]
            self.now = max(self.now, when)
            if key.kind == TimerKind.READY_TIMEOUT and key.pid is not None:
                self.feed(ReadyTimedOut(key.pid, ("still importing",)))
            else:
                self.feed(TimerFired(key))
        self.now = until

    def obey_signals(self) -> None:
        """Every process signalled to stop (or killed) exits now."""
        for pid in [p for p, _ in self.signalled] + self.killed:
            if pid in self.alive:
                self.exit(pid, 0)

    # ------------------------------------------------------------------ what we look at

    def pids(self) -> list[int]:
        return sorted(self.model.processes)

    def logs(self) -> list[str]:
        return [e.message for e in self.effects if isinstance(e, fx.Log)]

    def published(self) -> list:
        return [e.notice for e in self.effects if isinstance(e, fx.Publish)]
