"""The counting policies the state machine consults: scale-down victims, max_age deadlines, wids,
start order, and the one flapping policy (exits and failed spawns)."""

from __future__ import annotations

import pytest

from circus_web_stack.core import flapping
from circus_web_stack.core.scale import (
    ProcessView,
    WidAllocator,
    expiry_deadline,
    first_due,
    next_expiry,
    scale_down_victims,
    start_order,
)
from circus_web_stack.core.settings import FlappingRule
from circus_web_stack.core.states import ProcessState

R, S = ProcessState.RUNNING, ProcessState.STARTING


def procs(*specs):
    """(pid, state, started_s[, expires_s]) -> views"""
    return [
        ProcessView(pid, i + 1, state, started, *(rest or (None,)))
        for i, (pid, state, started, *rest) in enumerate(specs)
    ]


@pytest.mark.parametrize(
    ("current", "count", "scale_down", "expected"),
    [
        ([(1, R, 1.0), (2, R, 2.0), (3, R, 3.0)], 2, "oldest", [1, 2]),
        ([(1, R, 1.0), (2, R, 2.0), (3, R, 3.0)], 1, "newest", [3]),
        # A process still starting is removed first, whatever scale_down says.
        ([(1, R, 1.0), (2, S, 2.0), (3, R, 3.0)], 1, "oldest", [2]),
        ([(1, R, 1.0)], 1, "oldest", [1]),
    ],
)
def test_scale_down_victims(current, count, scale_down, expected):
    assert scale_down_victims(procs(*current), count, scale_down) == expected


def test_due_and_next_expiry():
    views = procs((1, R, 0.0, 10.0), (2, R, 0.0, 11.0), (3, R, 0.0, 50.0))
    assert first_due(views, 9.0) is None
    assert first_due(views, 12.0).pid == 1
    assert next_expiry(views) == 10.0
    assert next_expiry(procs((1, R, 0.0))) is None


def test_expiry_deadline_spreads_with_variance():
    assert expiry_deadline(100.0, 0, 30, 0.5) is None
    assert expiry_deadline(100.0, 60, 30, 0.0) == 160.0
    assert expiry_deadline(100.0, 60, 30, 0.5) == 175.0


def test_wids_reuse_the_smallest_free_slot():
    wids = WidAllocator()
    assert [wids.take() for _ in range(4)] == [1, 2, 3, 4]
    wids.release(3)
    wids.release(1)
    assert wids.take() == 1
    assert wids.take() == 3
    assert wids.take() == 5


def test_start_order_by_priority_then_name():
    assert start_order([("web", 0), ("db", 10), ("cache", 10), ("cron", -1)]) == [
        "cache",
        "db",
        "web",
        "cron",
    ]


def rule(**kw):
    return FlappingRule(**{"attempts": 2, "window_s": 1.0, "retry_in_s": 7.0, "max_retry": 5, **kw})


def test_flapping_pauses_then_gives_up():
    state, r = flapping.FlappingState(), rule(max_retry=2)
    assert flapping.record_exit(state, r, 0.0) is None
    assert flapping.record_exit(state, r, 0.5) == flapping.Pause(retry_in_s=7.0, attempt=1, retries_left=1)
    assert flapping.record_exit(state, r, 8.0) is None
    assert flapping.record_exit(state, r, 8.2) == flapping.Pause(retry_in_s=7.0, attempt=2, retries_left=0)
    assert flapping.record_exit(state, r, 16.0) is None
    gave_up = flapping.record_exit(state, r, 16.1)
    assert isinstance(gave_up, flapping.GiveUp) and "after 2 pause(s)" in gave_up.why


def test_flapping_exits_outside_the_window_do_not_count():
    state, r = flapping.FlappingState(), rule()
    assert [flapping.record_exit(state, r, t) for t in (0.0, 1.5, 3.0, 4.5)] == [None] * 4


def test_flapping_unlimited_retries_never_gives_up_and_never_spins():
    state, r = flapping.FlappingState(), rule(attempts=1, retry_in_s=0.0, max_retry=-1)
    decisions = [flapping.record_exit(state, r, float(t)) for t in range(100)]
    assert all(isinstance(d, flapping.Pause) and d.retries_left is None for d in decisions)
    assert all(d.retry_in_s >= flapping.MIN_RETRY_IN_S for d in decisions)


def test_flapping_quiet_period_forgives_past_pauses():
    state, r = flapping.FlappingState(), rule(retry_in_s=1.0, max_retry=1)
    flapping.record_exit(state, r, 0.0)
    assert isinstance(flapping.record_exit(state, r, 0.1), flapping.Pause)
    # Ten quiet windows (10 s minimum) later, the count of pauses starts afresh.
    flapping.record_exit(state, r, 20.0)
    assert isinstance(flapping.record_exit(state, r, 20.1), flapping.Pause)


def test_flapping_reset():
    state, r = flapping.FlappingState(), rule(retry_in_s=1.0, max_retry=0)
    flapping.record_exit(state, r, 0.0)
    flapping.reset(state)
    assert flapping.record_exit(state, r, 0.1) is None


def test_spawn_failures_are_the_same_policy():
    """A failed spawn counts in the flapping window, and max_spawn_failures in a row give up."""
    state, r = flapping.FlappingState(), rule(attempts=10, max_spawn_failures=2)
    assert flapping.record_spawn_failure(state, r, 0.0) is None
    assert flapping.record_spawn_failure(state, r, 5.0) is None
    gave_up = flapping.record_spawn_failure(state, r, 10.0)
    assert isinstance(gave_up, flapping.GiveUp) and "3 spawn failures in a row" in gave_up.why
    flapping.reset(state)
    flapping.record_spawn_failure(state, r, 20.0)
    flapping.record_spawn(state)  # one success ends the run of failures
    assert state.spawn_failures == 0
    state2, r2 = flapping.FlappingState(), rule(attempts=2)
    assert flapping.record_spawn_failure(state2, r2, 0.0) is None
    assert isinstance(flapping.record_spawn_failure(state2, r2, 0.2), flapping.Pause)
