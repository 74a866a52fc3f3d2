"""Process, watcher and daemon states, and the transitions each allows.

Pure: the runtime asks `check_transition` before every state change, so an impossible change is a bug
that raises InvalidTransition at once instead of a watcher silently stuck in a wrong state.
"""

from __future__ import annotations

from enum import StrEnum

from circus_web_stack.core.errors import InvalidTransition


class ProcessState(StrEnum):
    STARTING = "starting"  # forked and exec'd; not yet reported ready
    RUNNING = "running"  # ready (READY=1, or alive past warmup)
    STOPPING = "stopping"  # the stop signal was sent; waiting for it to exit
    EXITED = "exited"  # reaped


class WatcherState(StrEnum):
    # The values are Circus's, as `status` reports them.
    STOPPED = "stopped"
    STARTING = "starting"
    ACTIVE = "active"
    STOPPING = "stopping"


class DaemonState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class DaemonMilestone(StrEnum):
    """What the daemon tells whoever supervises it (systemd's sd_notify), once per occurrence."""

    WATCHERS_STARTED = "watchers_started"  # the autostart watchers were started (ready or not)
    RELOADING = "reloading"  # a reloadconfig began
    RELOADED = "reloaded"  # it ended, applied or refused
    STOPPING = "stopping"  # the daemon began to stop


PROCESS_TRANSITIONS: dict[ProcessState, frozenset[ProcessState]] = {
    ProcessState.STARTING: frozenset({ProcessState.RUNNING, ProcessState.STOPPING, ProcessState.EXITED}),
    ProcessState.RUNNING: frozenset({ProcessState.STOPPING, ProcessState.EXITED}),
    ProcessState.STOPPING: frozenset({ProcessState.EXITED}),
    ProcessState.EXITED: frozenset(),
}

WATCHER_TRANSITIONS: dict[WatcherState, frozenset[WatcherState]] = {
    WatcherState.STOPPED: frozenset({WatcherState.STARTING}),
    WatcherState.STARTING: frozenset({WatcherState.ACTIVE, WatcherState.STOPPING, WatcherState.STOPPED}),
    WatcherState.ACTIVE: frozenset({WatcherState.STOPPING, WatcherState.STOPPED}),
    WatcherState.STOPPING: frozenset({WatcherState.STOPPED}),
}

DAEMON_TRANSITIONS: dict[DaemonState, frozenset[DaemonState]] = {
    DaemonState.STARTING: frozenset({DaemonState.RUNNING, DaemonState.STOPPING}),
    DaemonState.RUNNING: frozenset({DaemonState.STOPPING}),
    DaemonState.STOPPING: frozenset({DaemonState.STOPPED}),
    DaemonState.STOPPED: frozenset(),
}

# Processes that count towards numprocesses: the ones not on their way out.
LIVE_PROCESS_STATES = frozenset({ProcessState.STARTING, ProcessState.RUNNING})


def check_transition(table: dict, current: StrEnum, new: StrEnum, what: str = "state") -> None:
    """Raise InvalidTransition unless `table` allows current -> new (staying put is always allowed)."""
    if current == new:
        return
    if new not in table[current]:
        raise InvalidTransition(f"{what}: {current} -> {new} is not allowed")
