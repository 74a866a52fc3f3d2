"""The watcher's pure decisions: scaling, recycling, wids, start order, flapping."""

from __future__ import annotations

import pytest

from circus_web_stack.core.effects import (
    GiveUpWatcher,
    PauseWatcher,
    RetireProcess,
    SpawnProcesses,
    StopProcess,
)
from circus_web_stack.core.states import ProcessState
from circus_web_stack.core.watcher_plan import (
    MIN_RETRY_IN_S,
    FlappingTracker,
    ProcessView,
    expiry_deadline,
    next_recycle_at,
    next_wid,
    plan_recycle,
    plan_scale,
    start_order,
)

R, S, X = ProcessState.RUNNING, ProcessState.STARTING, ProcessState.STOPPING


def procs(*specs):
    """(pid, state, started_s[, expires_s]) -> views"""
    return [
        ProcessView(pid, i + 1, state, started, *(rest or (None,)))
        for i, (pid, state, started, *rest) in enumerate(specs)
    ]


@pytest.mark.parametrize(
    ("current", "target", "scale_down", "expected"),
    [
        ([], 3, "oldest", [SpawnProcesses(3)]),
        ([(1, R, 1.0)], 1, "oldest", []),
        (
            [(1, R, 1.0), (2, R, 2.0), (3, R, 3.0)],
            1,
            "oldest",
            [StopProcess(1, "scale down"), StopProcess(2, "scale down")],
        ),
        ([(1, R, 1.0), (2, R, 2.0), (3, R, 3.0)], 2, "newest", [StopProcess(3, "scale down")]),
        # A stopping process does not count: its replacement starts while it drains.
        ([(1, X, 1.0), (2, R, 2.0)], 2, "oldest", [SpawnProcesses(1)]),
        # A process still starting is removed first, whatever scale_down says.
        ([(1, R, 1.0), (2, S, 2.0), (3, R, 3.0)], 2, "oldest", [StopProcess(2, "scale down")]),
        ([(1, R, 1.0)], 0, "oldest", [StopProcess(1, "scale down")]),
    ],
)
def test_plan_scale(current, target, scale_down, expected):
    assert plan_scale(procs(*current), target, scale_down) == expected


def test_recycle_one_at_a_time_ready_before_replaced():
    views = procs((1, R, 0.0, 10.0), (2, R, 0.0, 11.0), (3, R, 0.0, 50.0))
    assert plan_recycle(views, 9.0) == []
    # The first due process retires: it keeps serving, but no longer counts as live...
    assert plan_recycle(views, 12.0) == [RetireProcess(1)]
    retiring = [ProcessView(1, 1, R, 0.0, 10.0, retiring=True), *views[1:]]
    # ...so its replacement is planned,
    assert plan_scale(retiring, 3) == [SpawnProcesses(1)]
    # nothing else happens while the replacement starts,
    starting = [*retiring, ProcessView(4, 4, S, 12.0, 99.0)]
    assert plan_recycle(starting, 12.5) == []
    # and once it is ready the retiring process is stopped.
    ready = [*retiring, ProcessView(4, 4, R, 12.0, 99.0)]
    assert plan_scale(ready, 3) == []
    assert plan_recycle(ready, 13.0) == [StopProcess(1, "max_age")]
    # While one is stopping, nothing else recycles.
    assert plan_recycle(procs((1, X, 0.0, 10.0), (2, R, 0.0, 11.0)), 12.0) == []
    assert next_recycle_at(views) == 10.0
    assert next_recycle_at(procs((1, R, 0.0))) is None


def test_expiry_deadline_spreads_with_variance():
    assert expiry_deadline(100.0, 0, 30, 0.5) is None
    assert expiry_deadline(100.0, 60, 30, 0.0) == 160.0
    assert expiry_deadline(100.0, 60, 30, 0.5) == 175.0


def test_next_wid_reuses_the_smallest_free_slot():
    assert next_wid([]) == 1
    assert next_wid([1, 2, 4]) == 3
    assert next_wid([2, 3]) == 1


def test_start_order_by_priority_then_name():
    assert start_order([("web", 0), ("db", 10), ("cache", 10), ("cron", -1)]) == [
        "cache",
        "db",
        "web",
        "cron",
    ]


def test_flapping_pauses_then_gives_up():
    tracker = FlappingTracker(attempts=2, window_s=1.0, retry_in_s=7.0, max_retry=2)
    assert tracker.record_exit(0.0) is None
    assert tracker.record_exit(0.5) == PauseWatcher(retry_in_s=7.0, attempt=1, retries_left=1)
    assert tracker.record_exit(8.0) is None
    assert tracker.record_exit(8.2) == PauseWatcher(retry_in_s=7.0, attempt=2, retries_left=0)
    assert tracker.record_exit(16.0) is None
    assert tracker.record_exit(16.1) == GiveUpWatcher(pauses=2)


def test_flapping_exits_outside_the_window_do_not_count():
    tracker = FlappingTracker(attempts=2, window_s=1.0, retry_in_s=7.0, max_retry=5)
    assert [tracker.record_exit(t) for t in (0.0, 1.5, 3.0, 4.5)] == [None] * 4


def test_flapping_unlimited_retries_never_gives_up_and_never_spins():
    tracker = FlappingTracker(attempts=1, window_s=1.0, retry_in_s=0.0, max_retry=-1)
    decisions = [tracker.record_exit(float(t)) for t in range(100)]
    assert all(isinstance(d, PauseWatcher) and d.retries_left is None for d in decisions)
    assert all(d.retry_in_s >= MIN_RETRY_IN_S for d in decisions)


def test_flapping_quiet_period_forgives_past_pauses():
    tracker = FlappingTracker(attempts=2, window_s=1.0, retry_in_s=1.0, max_retry=1)
    tracker.record_exit(0.0)
    assert isinstance(tracker.record_exit(0.1), PauseWatcher)
    # Ten quiet windows (10 s minimum) later, the count of pauses starts afresh.
    tracker.record_exit(20.0)
    assert isinstance(tracker.record_exit(20.1), PauseWatcher)


def test_flapping_reset():
    tracker = FlappingTracker(attempts=2, window_s=1.0, retry_in_s=1.0, max_retry=0)
    tracker.record_exit(0.0)
    tracker.reset()
    assert tracker.record_exit(0.1) is None


def test_next_wid_from_a_start_hint():
    assert next_wid({1, 2, 3, 5}, start=4) == 4
    assert next_wid({1, 2, 3, 4}, start=3) == 5
