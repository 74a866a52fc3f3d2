"""The rule for what a watcher's exited processes left in their process groups (core/leftovers.py)."""

from __future__ import annotations

import signal

from circus_web_stack.core.leftovers import CREATED_MARGIN_S, LeftGroup, ProcessEntry, left_behind

GROUP = LeftGroup(
    "web#1 pid=100", pgid=100, reaped_at=1000.0, stop_signal=signal.SIGTERM, graceful_timeout_s=5
)


def test_members_created_before_the_reap_are_left_behind_and_sorted():
    table = [ProcessEntry(130, 100, 990.0), ProcessEntry(120, 100, 995.5), ProcessEntry(7, 7, 10.0)]
    assert left_behind([GROUP], table) == {100: [120, 130]}


def test_a_process_that_reused_the_pgid_after_the_reap_is_a_stranger():
    table = [ProcessEntry(300, 100, 1000.0 + CREATED_MARGIN_S + 60)]
    assert left_behind([GROUP], table) == {}


def test_groups_nobody_recorded_are_not_touched():
    assert left_behind([], [ProcessEntry(130, 100, 990.0)]) == {}
