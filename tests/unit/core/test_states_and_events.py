"""State transition tables and how exits are described."""

from __future__ import annotations

import signal

import pytest

from circus_web_stack.core.errors import InvalidTransition
from circus_web_stack.core.events import describe_exit
from circus_web_stack.core.states import (
    PROCESS_TRANSITIONS,
    WATCHER_TRANSITIONS,
    ProcessState,
    WatcherState,
    check_transition,
)


def test_allowed_and_refused_transitions():
    check_transition(WATCHER_TRANSITIONS, WatcherState.STOPPED, WatcherState.STARTING)
    check_transition(WATCHER_TRANSITIONS, WatcherState.ACTIVE, WatcherState.ACTIVE)
    with pytest.raises(InvalidTransition, match="stopped -> active"):
        check_transition(WATCHER_TRANSITIONS, WatcherState.STOPPED, WatcherState.ACTIVE)
    with pytest.raises(InvalidTransition):
        check_transition(PROCESS_TRANSITIONS, ProcessState.EXITED, ProcessState.RUNNING)


def test_every_state_has_a_row():
    assert set(PROCESS_TRANSITIONS) == set(ProcessState)
    assert set(WATCHER_TRANSITIONS) == set(WatcherState)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0, "exited cleanly"),
        (3, "exited with code 3"),
        (-signal.SIGTERM, "killed by SIGTERM"),
        (-signal.SIGKILL, "killed by SIGKILL (out of memory?)"),
    ],
)
def test_describe_exit(code, text):
    assert describe_exit(code) == text
