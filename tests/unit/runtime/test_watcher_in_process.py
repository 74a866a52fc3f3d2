"""The runtime's watcher (facade, driver, executor) over a FakeSystem and an autojump FakeClock: the
lifecycle end to end, in-process, each scenario in milliseconds of real time whatever its timeouts."""

from __future__ import annotations

import signal
import time

import gevent
import pytest

from circus_web_stack.config.loader import parse_watcher
from circus_web_stack.core.errors import ClientError
from circus_web_stack.core.states import WatcherPhase
from circus_web_stack.runtime.watcher import Watcher
from circus_web_stack.testing.fake_clock import FakeClock
from circus_web_stack.testing.fake_system import FakeProgram, FakeSystem

SLOW_TO_STOP = FakeProgram(stops_after_s=None)  # ignores SIGTERM: only SIGKILL ends it


@pytest.fixture
def world():
    clock = FakeClock()
    clock.start_autojump()
    system = FakeSystem(clock)
    events: list[tuple[str, dict]] = []
    made: list[Watcher] = []

    def make(**options) -> Watcher:
        config = parse_watcher("web", {"cmd": "app", "readiness": "notify", **options}, source="test")
        w = Watcher.from_config(
            config, system=system, emit=lambda name, event, payload: events.append((event, payload))
        )
        system.on_ready = w.report_ready
        made.append(w)
        return w

    started = time.monotonic()
    yield clock, system, make, events
    for w in made:
        w.driver.close()
    clock.stop_autojump()
    assert time.monotonic() - started < 5, "in-process scenarios must not wait in real time"


def settle(clock: FakeClock, seconds: float) -> None:
    """Let `seconds` of fake time pass (the autojump fires whatever falls due)."""
    clock.sleep(seconds)


def test_start_then_graceful_stop(world):
    clock, system, make, events = world
    w = make(numprocesses=2)
    assert len(w.start()["started"]) == 2
    settle(clock, 0.2)  # READY=1 after 0.1 s
    assert w.status() == "active" and w.model.settled()
    stopped = w.stop()["stopped"]
    assert sorted(stopped) == [1000, 1001] and system.alive() == []
    assert [e for e, _ in events if e in ("start", "stop")] == ["start", "stop"]


def test_a_thirty_second_graceful_timeout_passes_at_once(world):
    clock, system, make, _ = world
    system.programs["app"] = SLOW_TO_STOP
    w = make(graceful_timeout=30)
    w.start()
    before = clock.now
    w.stop()
    assert clock.now - before == pytest.approx(30.0)
    assert (1000, signal.SIGKILL) in system.signals and w.state == WatcherPhase.STOPPED


def test_an_unexpected_exit_is_respawned_in_the_same_slot(world):
    clock, system, make, events = world
    w = make(numprocesses=2)
    w.start()
    settle(clock, 0.2)
    system.exit(1000, 1)
    settle(clock, 0.2)
    assert sorted(w.processes) == [1001, 1002] and w.processes[1002].wid == 1
    reaped = [{k: v for k, v in p.items() if k != "time"} for e, p in events if e == "reap"]
    assert reaped == [{"process_pid": 1000, "exit_code": 1, "wid": 1, "expected": False}]


def test_a_reload_whose_new_worker_dies_rolls_back(world):
    clock, system, make, events = world
    w = make(numprocesses=2)
    w.start()
    settle(clock, 0.2)
    system.programs["app"] = FakeProgram(ready_after_s=None, exits_after_s=0.3, exit_code=3)
    with pytest.raises(
        ClientError, match=r"rolled back: web#3 pid=1002 exited with code 3 before it was ready"
    ):
        w.reload()
    assert sorted(w.processes) == [1000, 1001] and w.state == WatcherPhase.RUNNING
    assert any(e == "reload" and p.get("rolled_back") for e, p in events)


def test_a_ready_timeout_during_a_reload_rolls_it_back(world):
    clock, system, make, _ = world
    w = make(numprocesses=1, ready_timeout=5)
    w.start()
    settle(clock, 0.2)
    system.programs["app"] = FakeProgram(ready_after_s=None)
    before = clock.now
    with pytest.raises(ClientError, match=r"was not ready after 5s \(ready_timeout\)"):
        w.reload()
    assert clock.now - before >= 5.0 and sorted(w.processes) == [1000]


def test_flapping_old_workers_during_a_reload_do_not_stop_it(world):
    clock, system, make, _ = world
    w = make(numprocesses=2)
    w.start()
    settle(clock, 0.2)
    system.programs["app"] = FakeProgram(ready_after_s=1.0)
    job = gevent.spawn(w.reload)
    settle(clock, 0.1)
    system.exit(1000, 1)  # an old one dies mid-reload: one fewer to replace
    system.exit(1001, 1)
    result = job.get()
    assert sorted(result["started"]) == sorted(w.processes) and len(w.processes) == 2


def test_a_stop_during_a_reload_interrupts_it(world):
    clock, system, make, _ = world
    w = make(numprocesses=2)
    w.start()
    settle(clock, 0.2)
    system.programs["app"] = FakeProgram(ready_after_s=100.0)
    job = gevent.spawn(w.reload)
    settle(clock, 1.0)
    assert w.state == WatcherPhase.ROLLING
    w.stop()
    with pytest.raises(ClientError, match="reload of web interrupted by a stop"):
        job.get()
    assert w.state == WatcherPhase.STOPPED and system.alive() == []


def test_max_age_recycles_every_process_ready_before_replaced(world):
    clock, _system, make, events = world
    w = make(numprocesses=2, max_age=60, max_age_variance=0)
    w.start()
    settle(clock, 0.2)
    first = sorted(w.processes)
    settle(clock, 61.0)
    assert not set(first) & set(w.processes) and len(w.processes) == 2
    kills = [p["process_pid"] for e, p in events if e == "kill"]
    spawns = [p["process_pid"] for e, p in events if e == "spawn"]
    # Each old process got its stop signal only after its successor had spawned.
    assert spawns.index(1002) < len(spawns) and kills[0] == first[0]


def test_spawn_failures_pause_then_give_up_and_say_why(world):
    clock, system, make, events = world
    system.programs["app"] = FakeProgram(spawn_error=FileNotFoundError(2, "No such file", "app"))
    w = make(numprocesses=1, max_retry=2)
    w.start()  # answered once flapping pauses it, as Circus's start returns
    assert w.state == WatcherPhase.PAUSED
    settle(clock, 60.0)
    assert w.state == WatcherPhase.GIVEN_UP and w.status() == "stopped"
    gave_up = [p for e, p in events if e == "flapping" and p["gave_up"]]
    assert gave_up and "3 spawn failures in a row (max_retry = 2)" in gave_up[0]["reason"]
