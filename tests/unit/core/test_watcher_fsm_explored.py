"""The watcher's state machine explored at random: commands sent as the facade sends them (one
locked command at a time; a stop may overtake it; a hurry at any time) interleaved with whatever the
world may do (a process exits with any code, says ready, ignores its stop signal; timers come due;
spawns start failing). Whatever the order, no step raises InvalidTransition, every command is
answered once the world lets it finish, and the model's counts and timers agree with its records.
"""

from __future__ import annotations

import signal
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from circus_web_stack.core.events import (
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
from circus_web_stack.core.settings import FlappingRule, LifecycleSettings, Readiness
from circus_web_stack.core.states import ProcessState, WatcherPhase
from tests.unit.core.fsm_sim import Sim

P = WatcherPhase

lifecycle_settings = st.builds(
    LifecycleSettings,
    numprocesses=st.integers(0, 3),
    warmup_delay_s=st.sampled_from([0.0, 1.0]),
    graceful_timeout_s=st.sampled_from([0.0, 2.0, 30.0]),
    ready_timeout_s=st.sampled_from([3.0, 60.0]),
    readiness=st.sampled_from(list(Readiness)),
    max_age_s=st.sampled_from([0.0, 20.0]),
    max_age_variance_s=st.just(0.0),
    respawn=st.booleans(),
    send_hup=st.booleans(),
    startup_nice=st.sampled_from([0, 10]),
    flapping=st.builds(
        FlappingRule,
        attempts=st.integers(1, 3),
        window_s=st.sampled_from([1.0, 10.0]),
        retry_in_s=st.sampled_from([2.0, 7.0]),
        max_retry=st.sampled_from([-1, 0, 2]),
        max_spawn_failures=st.sampled_from([-1, 1, 3]),
    ),
)


class WatcherLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sim = Sim(LifecycleSettings())  # replaced by begin(), which draws the settings
        self.locked: int | None = None
        self.stopping: int | None = None

    @initialize(config=lifecycle_settings)
    def begin(self, config: LifecycleSettings) -> None:
        self.sim = Sim(config)
        self.locked = None  # the command holding the facade's lock
        self.stopping = None  # a stop (it takes the stop lock only)

    # ------------------------------------------------------------------ what the facade sends

    def _answered(self) -> None:
        if self.locked in self.sim.answers:
            self.locked = None
        if self.stopping in self.sim.answers:
            self.stopping = None

    def _free(self) -> bool:
        return self.locked is None and self.sim.model.phase != P.REMOVED

    @precondition(_free)
    @rule(kind=st.sampled_from(["start", "restart", "reload", "hard reload", "sequential reload"]))
    def command(self, kind: str) -> None:
        make = {
            "start": StartRequested,
            "restart": RestartRequested,
            "reload": ReloadRequested,
            "hard reload": lambda c: ReloadRequested(c, restart=True),
            "sequential reload": lambda c: ReloadRequested(c, sequential=True, config_change=True),
        }[kind]
        if kind.endswith("reload") and self.sim.model.phase == P.STOPPING:
            return  # refused with an error by the step; covered below by stop_then
        self.locked = self.sim.command(make)
        self._answered()

    @precondition(_free)
    @rule(count=st.integers(0, 4))
    def scale(self, count: int) -> None:
        self.locked = self.sim.command(lambda c: ScaleRequested(c, count))
        self._answered()

    @precondition(_free)
    @rule(config=lifecycle_settings)
    def change_settings(self, config: LifecycleSettings) -> None:
        self.locked = self.sim.command(lambda c: SettingsChanged(c, config))
        self._answered()

    @precondition(_free)
    @rule(config=lifecycle_settings)
    def reload_with_new_settings(self, config: LifecycleSettings) -> None:
        if self.sim.model.phase == P.STOPPING:
            return
        self.locked = self.sim.command(lambda c: ReloadRequested(c, settings=config, config_change=True))
        self._answered()

    @precondition(_free)
    @rule(data=st.data())
    def kill(self, data: st.DataObject) -> None:
        pids = tuple(p for p in self.sim.pids() if data.draw(st.booleans()))
        timeout = data.draw(st.sampled_from([None, 0.0, 5.0]))
        self.locked = self.sim.command(lambda c: KillRequested(c, pids, None, timeout))
        self._answered()

    @precondition(_free)
    @rule(nostop=st.booleans())
    def remove(self, nostop: bool) -> None:
        self.locked = self.sim.command(lambda c: RemoveRequested(c, nostop=nostop))
        self._answered()

    @precondition(lambda self: self.stopping is None and self.sim.model.phase != P.REMOVED)
    @rule(fast=st.booleans())
    def stop(self, fast: bool) -> None:
        self.stopping = self.sim.command(lambda c: StopRequested(c, fast=fast))
        self._answered()

    @rule()
    def hurry(self) -> None:
        self.sim.feed(HurryRequested())
        self._answered()

    # ------------------------------------------------------------------ what the world does

    @rule(data=st.data(), code=st.sampled_from([0, 1, -signal.SIGKILL, -signal.SIGSEGV]))
    def process_exits(self, data: st.DataObject, code: int) -> None:
        alive = sorted(self.sim.alive)
        if alive:
            self.sim.exit(data.draw(st.sampled_from(alive)), code)
        self._answered()

    @rule(data=st.data())
    def process_says_ready(self, data: st.DataObject) -> None:
        if self.sim.alive:
            self.sim.ready(data.draw(st.sampled_from(sorted(self.sim.alive))))
        self._answered()

    @rule()
    def signalled_processes_obey(self) -> None:
        self.sim.obey_signals()  # until then they ignore them: a graceful_timeout runs out
        self._answered()

    @rule(seconds=st.sampled_from([0.5, 1.0, 3.0, 10.0, 40.0]))
    def time_passes(self, seconds: float) -> None:
        self.sim.advance(seconds)
        self._answered()

    @rule(failing=st.booleans())
    def spawns_fail(self, failing: bool) -> None:
        self.sim.fail_spawns = failing

    # ------------------------------------------------------------------ what must hold

    @invariant()
    def counts_agree_with_the_records(self) -> None:
        m = self.sim.model
        expected = Counter(r.state for r in m.processes.values())
        for state in (ProcessState.STARTING, ProcessState.RUNNING, ProcessState.STOPPING):
            assert m.counts[state] == expected[state], (state, m.counts, expected)
        assert set(m.processes) <= self.sim.alive, "the model holds a process the world has reaped"
        assert set(self.sim.timers) == set(m.timers), (self.sim.timers, m.timers)

    def teardown(self) -> None:
        """Let the world settle (processes obey, time passes): every command sent is answered."""
        for _ in range(30):
            self.sim.fail_spawns = False
            self.sim.obey_signals()
            for pid in sorted(self.sim.alive):
                if pid in self.sim.model.processes:
                    self.sim.ready(pid)
            self.sim.advance(60.0)
            self._answered()
            if self.locked is None and self.stopping is None:
                break
        assert self.locked is None and self.stopping is None, (
            f"unanswered: locked={self.locked} stop={self.stopping} phase={self.sim.model.phase}"
        )


WatcherLifecycle.TestCase.settings = settings(
    max_examples=int(__import__("os").environ.get("FSM_EXAMPLES", "300")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=__import__("os").environ.get("FSM_RANDOM") is None,
)
TestWatcherLifecycle = WatcherLifecycle.TestCase
