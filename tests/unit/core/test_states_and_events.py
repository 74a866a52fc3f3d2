"""State transition tables and how exits are described."""

from __future__ import annotations

import signal

import pytest

from circus_web_stack.core.errors import InvalidTransition
from circus_web_stack.core.exits import describe_exit
from circus_web_stack.core.states import (
    CIRCUS_STATUS,
    DAEMON_TRANSITIONS,
    PROCESS_TRANSITIONS,
    DaemonState,
    ProcessState,
    WatcherPhase,
    check_transition,
)
from circus_web_stack.core.watcher_fsm import TRANSITIONS


def test_allowed_and_refused_transitions():
    check_transition(DAEMON_TRANSITIONS, DaemonState.STARTING, DaemonState.RUNNING)
    check_transition(DAEMON_TRANSITIONS, DaemonState.RUNNING, DaemonState.RUNNING)
    with pytest.raises(InvalidTransition, match="stopped -> running"):
        check_transition(DAEMON_TRANSITIONS, DaemonState.STOPPED, DaemonState.RUNNING)
    with pytest.raises(InvalidTransition):
        check_transition(PROCESS_TRANSITIONS, ProcessState.EXITED, ProcessState.RUNNING)


def test_every_state_has_a_row():
    assert set(PROCESS_TRANSITIONS) == set(ProcessState)
    assert set(DAEMON_TRANSITIONS) == set(DaemonState)
    # Every watcher phase has a Circus word, and every phase but removed takes a stop.
    assert set(CIRCUS_STATUS) == set(WatcherPhase)
    assert set(CIRCUS_STATUS.values()) == {"stopped", "starting", "active", "stopping"}
    for rows in TRANSITIONS.values():
        assert all(outcomes <= set(WatcherPhase) for outcomes in rows.values())


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


def test_a_sigkill_circusd_sent_is_not_blamed_on_memory():
    assert describe_exit(-signal.SIGKILL, killed_by_us=True) == (
        "killed by SIGKILL (sent by circusd after graceful_timeout)"
    )
