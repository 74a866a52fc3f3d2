"""The watcher's lifecycle, decided in pure code: every scenario runs in microseconds of real time."""

from __future__ import annotations

import signal
from dataclasses import replace

import pytest

from circus_web_stack.core import effects as fx
from circus_web_stack.core.errors import InvalidTransition
from circus_web_stack.core.events import (
    HookFailed,
    ReloadRequested,
    RemoveRequested,
    RestartRequested,
    ScaleRequested,
    StartRequested,
    StopRequested,
)
from circus_web_stack.core.notices import Flapping, Reaped, Reloaded
from circus_web_stack.core.settings import FlappingRule, LifecycleSettings, Readiness
from circus_web_stack.core.states import ProcessState, WatcherPhase
from circus_web_stack.core.watcher_fsm import TRANSITIONS, step
from tests.unit.core.fsm_sim import Sim

P = WatcherPhase
NOTIFY = {"readiness": Readiness.NOTIFY, "ready_timeout_s": 5.0}


def started(n=2, **settings) -> Sim:
    sim = Sim(LifecycleSettings(numprocesses=n, **settings))
    cid = sim.command(StartRequested)
    for pid in list(sim.pids()):
        if sim.model.processes[pid].state == ProcessState.STARTING:
            sim.ready(pid)
    assert sim.model.phase == P.RUNNING and isinstance(sim.answers[cid], fx.Complete), sim.answers
    return sim


def test_start_spawns_numprocesses_one_at_a_time_and_answers():
    sim = Sim(LifecycleSettings(numprocesses=3))
    cid = sim.command(StartRequested)
    assert sim.model.phase == P.RUNNING
    assert sim.answers[cid] == fx.Complete(cid, {"started": [100, 101, 102], "kept": []})
    assert [p.wid for p in sim.model.processes.values()] == [1, 2, 3]
    assert sim.model.live == 3 and sim.model.settled()


def test_warmup_delay_spaces_the_spawns():
    sim = Sim(LifecycleSettings(numprocesses=3, warmup_delay_s=2.0))
    sim.command(StartRequested)
    assert sim.pids() == [100]
    sim.advance(1.9)
    assert sim.pids() == [100]
    sim.advance(0.2)
    assert sim.pids() == [100, 101]
    sim.advance(2.0)
    assert sim.model.phase == P.RUNNING and len(sim.pids()) == 3


def test_stop_escalates_to_sigkill_after_graceful_timeout():
    sim = started(1, graceful_timeout_s=30.0)
    cid = sim.command(StopRequested)
    assert sim.signalled == [(100, signal.SIGTERM)] and sim.model.phase == P.STOPPING
    sim.advance(29.9)
    assert sim.killed == []
    sim.advance(0.2)
    assert sim.killed == [100]
    assert any("ignored SIGTERM for 30s (graceful_timeout); sending SIGKILL" in line for line in sim.logs())
    sim.exit(100, -signal.SIGKILL)
    assert sim.model.phase == P.STOPPED and sim.answers[cid] == fx.Complete(cid, {"stopped": [100]})
    assert any("killed by SIGKILL (sent by circusd after graceful_timeout)" in line for line in sim.logs())


def test_an_unexpected_exit_respawns_in_the_same_slot():
    sim = started(2)
    sim.exit(100, 1)
    assert sim.pids() == [101, 102] and sim.model.processes[102].wid == 1
    reaped = [n for n in sim.published() if isinstance(n, Reaped)]
    assert reaped == [Reaped(100, 1, 1, expected=False)]


def test_flapping_pauses_then_resumes_then_gives_up():
    rule = FlappingRule(attempts=2, window_s=1.0, retry_in_s=7.0, max_retry=1)
    sim = started(1, flapping=rule)
    sim.exit(100, 1)
    sim.exit(101, 1)
    assert sim.model.phase == P.PAUSED and sim.pids() == []
    sim.advance(7.0)
    assert sim.model.phase == P.RUNNING and sim.pids() == [102]
    sim.exit(102, 1)
    sim.exit(103, 1)
    assert sim.model.phase == P.GIVEN_UP
    assert isinstance(sim.published()[-2], Flapping) and sim.published()[-2].retry_in is None
    cid = sim.command(StartRequested)  # an operator's start tries again
    assert sim.model.phase == P.RUNNING and isinstance(sim.answers[cid], fx.Complete)


def test_spawn_failures_give_up_with_the_reason():
    rule = FlappingRule(attempts=100, max_spawn_failures=2)
    sim = Sim(LifecycleSettings(numprocesses=1, flapping=rule), fail_spawns=True)
    cid = sim.command(StartRequested)
    assert sim.model.phase == P.GIVEN_UP
    assert isinstance(sim.answers[cid], fx.Fail) and "3 spawn failures in a row" in sim.answers[cid].reason


def test_a_rolling_reload_replaces_each_process_once_its_successor_is_ready():
    sim = started(2, **NOTIFY)
    cid = sim.command(ReloadRequested)
    assert sim.model.phase == P.ROLLING and sim.pids() == [100, 101, 102]
    assert sim.signalled == []  # nothing old stops before a new one is ready
    sim.ready(102)
    assert sim.signalled == [(100, signal.SIGTERM)] and sim.pids() == [100, 101, 102, 103]
    sim.obey_signals()
    sim.ready(103)
    sim.obey_signals()
    assert sim.model.phase == P.RUNNING and sim.pids() == [102, 103]
    assert sim.answers[cid] == fx.Complete(cid, {"stopped": [100, 101], "started": [102, 103], "kept": []})
    assert Reloaded(old=0, new=2, ready=2, done=True) in sim.published()


def test_a_reload_whose_new_worker_dies_rolls_back_and_the_old_keep_serving():
    sim = started(2, **NOTIFY)
    new_settings = replace(sim.model.settings, graceful_timeout_s=5.0)
    cid = sim.command(lambda c: ReloadRequested(c, settings=new_settings))
    sim.exit(102, 3)
    assert sim.model.phase == P.RUNNING and sim.pids() == [100, 101]
    answer = sim.answers[cid]
    assert isinstance(answer, fx.Fail)
    assert "rolled back: web#3 pid=102 exited with code 3 before it was ready" in answer.reason
    assert "its last stderr lines: boom" in answer.reason
    assert fx.RestoreConfig() in sim.effects and sim.model.settings.graceful_timeout_s == 30.0


def test_a_ready_timeout_during_a_reload_rolls_it_back():
    sim = started(1, **NOTIFY)
    cid = sim.command(ReloadRequested)
    sim.advance(5.0)
    assert sim.signalled == [(101, signal.SIGTERM)]
    sim.obey_signals()
    assert "was not ready after 5s (ready_timeout)" in sim.answers[cid].reason
    assert sim.pids() == [100] and sim.model.phase == P.RUNNING


def test_an_old_process_that_dies_during_a_reload_is_simply_one_fewer():
    sim = started(2, **NOTIFY)
    cid = sim.command(ReloadRequested)
    sim.exit(101, 1)  # flapping has no say: the reload replaces it anyway
    sim.ready(102)
    sim.obey_signals()
    sim.ready(103)
    sim.obey_signals()
    assert isinstance(sim.answers[cid], fx.Complete) and sim.pids() == [102, 103]


def test_a_stop_during_a_reload_interrupts_it_and_stops_everything():
    sim = started(2, **NOTIFY)
    reload_id = sim.command(ReloadRequested)
    stop_id = sim.command(StopRequested)
    assert "reload of web interrupted by a stop" in sim.answers[reload_id].reason
    sim.obey_signals()
    assert sim.model.phase == P.STOPPED
    assert sim.answers[stop_id] == fx.Complete(stop_id, {"stopped": [100, 101, 102]})


def test_max_age_recycles_one_at_a_time_ready_before_replaced():
    sim = started(2, max_age_s=60.0, max_age_variance_s=0.0, **NOTIFY)
    sim.advance(60.0)
    # The first due one retires: its replacement starts while it still serves.
    assert sim.model.retiring_pid in (100, 101) and sim.signalled == []
    first = sim.model.retiring_pid
    newcomer = max(sim.pids())
    sim.ready(newcomer)
    assert sim.signalled == [(first, signal.SIGTERM)]
    sim.obey_signals()
    other = ({100, 101} - {first}).pop()
    assert sim.model.retiring_pid == other
    sim.ready(max(sim.pids()))
    sim.obey_signals()
    assert len(sim.pids()) == 2 and not {100, 101} & set(sim.pids())


def test_incr_and_decr_scale_and_a_singleton_refuses_two():
    sim = started(1)
    cid = sim.command(lambda c: ScaleRequested(c, 3))
    assert sim.answers[cid] == fx.Complete(cid, {"numprocesses": 3}) and len(sim.pids()) == 3
    sim.command(lambda c: ScaleRequested(c, 1))
    assert sim.model.live == 1
    solo = started(1, singleton=True)
    cid = solo.command(lambda c: ScaleRequested(c, 2))
    assert "singleton" in solo.answers[cid].reason and solo.model.live == 1


def test_restart_stops_then_starts():
    sim = started(1)
    cid = sim.command(RestartRequested)
    sim.obey_signals()
    assert sim.answers[cid] == fx.Complete(cid, {"started": [101], "kept": [], "stopped": [100]})


def test_a_ready_timeout_outside_a_reload_stops_and_replaces_the_process():
    sim = Sim(LifecycleSettings(numprocesses=1, **NOTIFY))
    sim.command(StartRequested)
    sim.advance(5.0)
    assert sim.signalled == [(100, signal.SIGTERM)]
    sim.obey_signals()
    assert sim.pids() == [101]


def test_a_failed_before_spawn_hook_stops_the_watcher():
    sim = started(1)
    sim.feed(HookFailed("before_spawn", wid=2))
    sim.obey_signals()
    assert sim.model.phase == P.GIVEN_UP


def test_rm_nostop_forgets_the_processes_and_refuses_every_later_command():
    sim = started(2)
    sim.command(lambda c: RemoveRequested(c, nostop=True))
    assert sim.model.phase == P.REMOVED and sim.signalled == []
    with pytest.raises(InvalidTransition, match="StartRequested is impossible while removed"):
        step(sim.model, StartRequested(99), sim.now)


def test_an_impossible_pair_names_the_event_and_the_phase():
    sim = Sim(LifecycleSettings(numprocesses=2, warmup_delay_s=1.0))
    sim.command(StartRequested)  # the second spawn waits for warmup_delay: still starting
    with pytest.raises(InvalidTransition, match="ReloadRequested is impossible while starting"):
        step(sim.model, ReloadRequested(9), sim.now)


def test_every_event_type_has_a_handler_and_a_row():
    from circus_web_stack.core import watcher_fsm

    assert set(TRANSITIONS) == set(watcher_fsm._HANDLERS)


# Found by the random exploration (test_watcher_fsm_explored.py): commands that meet a stop under way.


def test_a_restart_during_a_stop_starts_once_the_stop_has_ended():
    sim = started(2)
    stop = sim.command(StopRequested)  # the processes ignore SIGTERM for now
    restart = sim.command(RestartRequested)
    assert sim.model.phase == P.STOPPING and restart not in sim.answers
    sim.obey_signals()
    assert sim.answers[stop] == fx.Complete(stop, {"stopped": [100, 101]})
    assert isinstance(sim.answers[restart], fx.Complete) and sim.model.phase == P.RUNNING
    assert sim.pids() == [102, 103]


def test_an_rm_during_a_stop_ends_it_as_a_removal_and_answers_both():
    sim = started(2)
    stop = sim.command(StopRequested)
    rm = sim.command(lambda c: RemoveRequested(c))
    sim.obey_signals()
    assert sim.model.phase == P.REMOVED
    assert sim.answers[stop] == fx.Complete(stop, {"stopped": [100, 101]})
    assert isinstance(sim.answers[rm], fx.Complete)


def test_rm_nostop_during_a_stop_fails_the_stop_it_abandons():
    sim = started(2)
    stop = sim.command(StopRequested)
    rm = sim.command(lambda c: RemoveRequested(c, nostop=True))
    assert sim.model.phase == P.REMOVED and isinstance(sim.answers[rm], fx.Complete)
    answer = sim.answers[stop]
    assert isinstance(answer, fx.Fail) and "interrupted by rm web --nostop" in answer.reason


def test_a_stop_during_a_restart_fails_the_restart_and_stays_stopped():
    sim = started(2)
    restart = sim.command(RestartRequested)  # stopping half: the processes ignore SIGTERM for now
    stop = sim.command(StopRequested)
    sim.obey_signals()
    assert isinstance(sim.answers[restart], fx.Fail) and "interrupted by stop" in sim.answers[restart].reason
    assert isinstance(sim.answers[stop], fx.Complete) and sim.model.phase == P.STOPPED and sim.pids() == []


def test_status_says_failing_for_a_crash_loop_and_active_once_a_process_serves():
    sim = Sim(LifecycleSettings(numprocesses=1, warmup_delay_s=1.0))  # ready after 1 s alive
    sim.command(StartRequested)
    assert sim.model.status() == "active"  # Circus's word once the start is done, ready or not
    sim.exit(100, 3)  # died before it was ready
    assert sim.model.status() == "failing" and sim.model.phase in (P.RUNNING, P.STARTING, P.PAUSED)
    sim.advance(10.0)  # a flapping pause, if any, is over and the respawned process lived 1 s
    assert sim.model.counts[ProcessState.RUNNING] == 1 and sim.model.status() == "active"


def test_status_stays_active_while_another_process_serves():
    sim = started(2)
    sim.exit(100, 1)
    assert sim.model.status() == "active"
