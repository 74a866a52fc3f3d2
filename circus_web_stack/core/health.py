"""Is the daemon ready to take traffic? The decision behind /readyz, READY=1 to systemd and STATUS=.

Pure: a function of plain snapshots. Rule: a watcher counts with its `min_ready` (by default 1 when it
serves a socket, else 0: not counted); it passes while at least that many of its processes are ready.
Processes on their way out (stopping, e.g. the old generation of a rolling reload) do not count, so a
reload keeps the pod ready exactly as long as the minimum keeps serving. A stopped watcher passes when
it is not meant to run (autostart = false), or is on_demand and waits for its first connection (its
socket listens and the kernel queues the connection); stopped otherwise (by an operator, or after
flapping gave up), it fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from circus_web_stack.core.states import DaemonState, WatcherPhase


@dataclass(frozen=True)
class WatcherHealth:
    """What the decision needs of one watcher, read on the hub."""

    name: str
    phase: WatcherPhase
    ready: int  # processes ready (RUNNING)
    live: int  # processes starting or ready
    min_ready: int | None  # the option; None: the default
    use_sockets: bool = False
    on_demand: bool = False
    autostart: bool = True


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reasons: tuple[str, ...]  # why not, one line per failing part; empty when ok


def needed_ready(watcher: WatcherHealth) -> int:
    if watcher.min_ready is not None:
        return watcher.min_ready
    return 1 if watcher.use_sockets else 0


def readiness(daemon_state: DaemonState, watchers: Iterable[WatcherHealth]) -> Verdict:
    reasons = [] if daemon_state == DaemonState.RUNNING else [f"circusd is {daemon_state.value}"]
    for watcher in watchers:
        needed = needed_ready(watcher)
        waiting = watcher.phase == WatcherPhase.STOPPED and (watcher.on_demand or not watcher.autostart)
        if needed == 0 or waiting:
            continue
        if watcher.ready < needed:
            reasons.append(f"{watcher.name}: {watcher.ready} of {needed} needed process(es) ready")
    return Verdict(not reasons, tuple(reasons))


def status_line(daemon_state: DaemonState, watchers: Iterable[WatcherHealth]) -> str:
    """One line for `systemctl status` (sd_notify STATUS=): counts, then what keeps it from ready."""
    watchers = list(watchers)
    verdict = readiness(daemon_state, watchers)
    ready = sum(w.ready for w in watchers)
    live = sum(w.live for w in watchers)
    line = f"{daemon_state.value}: {len(watchers)} watcher(s), {ready} of {live} process(es) ready"
    return line if verdict.ok else f"{line}; not ready: {'; '.join(verdict.reasons)}"
