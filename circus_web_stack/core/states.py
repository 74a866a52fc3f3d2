"""Process states, watcher phases, daemon states, and the transitions each allows.

Pure. The watcher's table is keyed by (phase, event type): core.watcher_fsm refuses an event the table
does not list for the current phase, and checks that the phase it lands in is one the row allows, so
an impossible change raises InvalidTransition naming both instead of leaving a watcher in a wrong
phase. docs/states.md is generated from these tables.
"""

from __future__ import annotations

from enum import StrEnum

from circus_web_stack.core.errors import InvalidTransition


class ProcessState(StrEnum):
    STARTING = "starting"  # forked and exec'd; not yet reported ready
    RUNNING = "running"  # ready (READY=1, or alive past warmup)
    STOPPING = "stopping"  # the stop signal was sent; waiting for it to exit
    EXITED = "exited"  # reaped


class WatcherPhase(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    ROLLING = "rolling"
    PAUSED = "paused"
    STOPPING = "stopping"
    GIVEN_UP = "given up"
    REMOVED = "removed"


# What each phase means (docs/states.md shows it).
PHASE_MEANINGS: dict[WatcherPhase, str] = {
    WatcherPhase.STOPPED: "no process; nothing respawns",
    WatcherPhase.STARTING: "a start command is bringing up numprocesses",
    WatcherPhase.RUNNING: "keeping numprocesses live: respawn, scale, max_age recycling",
    WatcherPhase.ROLLING: "a rolling reload owns the process set (or rolls it back)",
    WatcherPhase.PAUSED: "flapping: no respawn until the retry_in timer fires",
    WatcherPhase.STOPPING: "every process is being stopped",
    WatcherPhase.GIVEN_UP: "stopped by flapping or a failing hook; a start tries again",
    WatcherPhase.REMOVED: "by rm or reloadconfig: every later command is refused",
}


# `status` answers in Circus's four words (PROTOCOL.md: stopped, starting, active, stopping).
CIRCUS_STATUS: dict[WatcherPhase, str] = {
    WatcherPhase.STOPPED: "stopped",
    WatcherPhase.STARTING: "starting",
    WatcherPhase.RUNNING: "active",
    WatcherPhase.ROLLING: "active",
    WatcherPhase.PAUSED: "active",
    WatcherPhase.STOPPING: "stopping",
    WatcherPhase.GIVEN_UP: "stopped",
    WatcherPhase.REMOVED: "stopped",
}

# Ours, beside Circus's four: what `status` answers instead of active or starting while no process of
# the watcher is ready and the last one failed (exited unexpectedly, or could not be spawned), so a
# crash loop does not read as a watcher that serves (docs/circus-differences.md).
FAILING_STATUS = "failing"
FAILING_PHASES = frozenset({WatcherPhase.STARTING, WatcherPhase.RUNNING, WatcherPhase.PAUSED})

# Phases in which the watcher keeps processes running (and respawns them, unless paused).
SUPERVISING_PHASES = frozenset(
    {WatcherPhase.STARTING, WatcherPhase.RUNNING, WatcherPhase.ROLLING, WatcherPhase.PAUSED}
)
# Phases with no process of the watcher's own left: a start may begin here.
AT_REST_PHASES = frozenset({WatcherPhase.STOPPED, WatcherPhase.GIVEN_UP})


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
