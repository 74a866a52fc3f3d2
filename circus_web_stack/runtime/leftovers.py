"""When circusd stops, whatever its watchers' exited processes left in their process groups is
stopped too: the stop signal of the watcher, then SIGKILL after its graceful_timeout (FAST_STOP_S in
a fast stop). Which processes count is core.leftovers' rule; this module reads the process table and
signals, once, after every watcher has stopped. Stops while circusd runs keep Circus's meaning
(stop_children decides), so a worker's own daemons outlive a reload as they always did.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterable

import gevent
import psutil

from circus_web_stack.core.exits import signal_name
from circus_web_stack.core.fsm_actions import FAST_STOP_S
from circus_web_stack.core.leftovers import LeftGroup, ProcessEntry, left_behind

log = logging.getLogger("circus_web_stack.arbiter")

POLL_S = 0.05


def _process_table(pgids: set[int]) -> dict[int, psutil.Process]:
    """The live processes (not zombies) of these process groups, by pid."""
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(proc.pid) in pgids and proc.status() != psutil.STATUS_ZOMBIE:
                found[proc.pid] = proc
    return found


def _alive(proc: psutil.Process) -> bool:
    try:  # is_running() compares the start time: a reused pid is not this process
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_left_behind(groups: Iterable[LeftGroup], *, fast: bool) -> list[int]:
    """Stop what `groups` left running; returns the pids signalled. Blocks the calling greenlet for at
    most the longest graceful_timeout (FAST_STOP_S when `fast`)."""
    by_pgid = {g.pgid: g for g in groups}
    if not by_pgid:
        return []
    procs = _process_table(set(by_pgid))
    entries = []
    for pid, proc in procs.items():
        with contextlib.suppress(psutil.Error, OSError):
            entries.append(ProcessEntry(pid, os.getpgid(pid), proc.create_time()))
    members = left_behind(by_pgid.values(), entries)
    if not members:
        return []
    deadline: dict[int, float] = {}
    for pgid, pids in members.items():
        group = by_pgid[pgid]
        log.info(
            "%s left %d process(es) in its group (pids %s); sending %s",
            group.label,
            len(pids),
            ", ".join(map(str, pids)),
            signal_name(group.stop_signal),
        )
        timeout = min(group.graceful_timeout_s, FAST_STOP_S) if fast else group.graceful_timeout_s
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                procs[pid].send_signal(group.stop_signal)
            deadline[pid] = time.monotonic() + timeout
    pending = {pid: pgid for pgid, pids in members.items() for pid in pids}
    while pending:
        pending = {pid: pgid for pid, pgid in pending.items() if _alive(procs[pid])}
        overdue = [pid for pid in pending if time.monotonic() >= deadline[pid]]
        for pid in overdue:
            group = by_pgid[pending.pop(pid)]
            log.warning(
                "pid %d (left by %s) ignored %s for %gs; sending SIGKILL",
                pid,
                group.label,
                signal_name(group.stop_signal),
                min(group.graceful_timeout_s, FAST_STOP_S) if fast else group.graceful_timeout_s,
            )
            with contextlib.suppress(psutil.Error):
                procs[pid].send_signal(signal.SIGKILL)
        if pending:
            gevent.sleep(POLL_S)
    return sorted(p for pids in members.values() for p in pids)
