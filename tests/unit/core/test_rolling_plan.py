"""The rolling reload planner: surge, readiness gating, completion."""

from __future__ import annotations

import pytest

from circus_web_stack.core.rolling import RollingStep, plan_rolling_step, plan_sequential_step


@pytest.mark.parametrize(
    ("old", "starting", "ready", "target", "surge", "expected"),
    [
        # Start: one new process at a time with the default surge; nothing old stops yet.
        (4, 0, 0, 4, 1, RollingStep(spawn=1, stop_old=0, done=False)),
        # The new one is starting: wait (no room for another).
        (4, 1, 0, 4, 1, RollingStep(spawn=0, stop_old=0, done=False)),
        # It is ready: retire one old one and start the next new one.
        (4, 0, 1, 4, 1, RollingStep(spawn=1, stop_old=1, done=False)),
        (1, 0, 3, 4, 1, RollingStep(spawn=1, stop_old=0, done=False)),
        (1, 0, 4, 4, 1, RollingStep(spawn=0, stop_old=1, done=True)),
        (0, 0, 4, 4, 1, RollingStep(spawn=0, stop_old=0, done=True)),
        # A surge of 2 starts two at once; a surge of the whole size replaces everything at once.
        (4, 0, 0, 4, 2, RollingStep(spawn=2, stop_old=0, done=False)),
        (4, 0, 2, 4, 2, RollingStep(spawn=2, stop_old=2, done=False)),
        (4, 0, 0, 4, 4, RollingStep(spawn=4, stop_old=0, done=False)),
        # Fewer old than target (a crashed old process): new ones fill the gap without waiting.
        (2, 0, 0, 4, 1, RollingStep(spawn=3, stop_old=0, done=False)),
        # A single-process watcher still never goes below one serving process.
        (1, 0, 0, 1, 1, RollingStep(spawn=1, stop_old=0, done=False)),
        (1, 1, 0, 1, 1, RollingStep(spawn=0, stop_old=0, done=False)),
        (1, 0, 1, 1, 1, RollingStep(spawn=0, stop_old=1, done=True)),
        # A surge below 1 is treated as 1: a reload always makes progress.
        (2, 0, 0, 2, 0, RollingStep(spawn=1, stop_old=0, done=False)),
        # Zero processes: nothing to do.
        (0, 0, 0, 0, 1, RollingStep(spawn=0, stop_old=0, done=True)),
    ],
)
def test_rolling_steps(old, starting, ready, target, surge, expected):
    assert (
        plan_rolling_step(old=old, new_starting=starting, new_ready=ready, target=target, max_surge=surge)
        == expected
    )


def simulate(target: int, surge: int) -> tuple[int, int]:
    """Run a whole reload where every new process becomes ready at the next step; return the fewest
    serving and the most existing processes seen."""
    old, starting, ready = target, 0, 0
    fewest, most = target, target
    for _ in range(100):
        step = plan_rolling_step(
            old=old, new_starting=starting, new_ready=ready, target=target, max_surge=surge
        )
        old -= step.stop_old
        ready, starting = ready + starting, step.spawn
        fewest = min(fewest, old + ready)
        most = max(most, old + ready + starting)
        if step.done:
            return fewest, most
    raise AssertionError("the reload never finished")


@pytest.mark.parametrize("target", [1, 2, 4, 7])
@pytest.mark.parametrize("surge", [1, 2, 3])
def test_never_below_target_never_above_surge(target, surge):
    fewest, most = simulate(target, surge)
    assert fewest >= target
    assert most <= target + surge


def test_sequential_stops_then_starts_one_at_a_time():
    def step(old, draining, starting, ready):
        return plan_sequential_step(
            old=old, old_draining=draining, new_starting=starting, new_ready=ready, target=2
        )

    assert step(2, 0, 0, 0) == RollingStep(0, 1, False)  # stop one old process first
    assert step(1, 1, 0, 0) == RollingStep(0, 0, False)  # wait until it is gone
    assert step(1, 0, 0, 0) == RollingStep(1, 0, False)  # then start its successor
    assert step(1, 0, 1, 0) == RollingStep(0, 0, False)  # wait until it is ready
    assert step(1, 0, 0, 1) == RollingStep(0, 1, False)  # next old one
    assert step(0, 0, 0, 2) == RollingStep(0, 0, True)
