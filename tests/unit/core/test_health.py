"""The readiness decision behind /readyz and READY=1, row by row."""

from __future__ import annotations

import pytest

from circus_web_stack.core.health import WatcherHealth, needed_ready, readiness, status_line
from circus_web_stack.core.states import DaemonState, WatcherPhase

RUNNING = DaemonState.RUNNING
ACTIVE = WatcherPhase.RUNNING


def web(ready: int, *, live: int | None = None, min_ready: int | None = None, **kw) -> WatcherHealth:
    return WatcherHealth(
        "web",
        kw.pop("phase", ACTIVE),
        ready,
        ready if live is None else live,
        min_ready,
        use_sockets=True,
        **kw,
    )


def worker(ready: int, min_ready: int | None = None) -> WatcherHealth:
    return WatcherHealth("worker", ACTIVE, ready, ready, min_ready)


@pytest.mark.parametrize(
    ("watcher", "needed"),
    [
        (web(0), 1),  # serves a socket: one ready process by default
        (worker(0), 0),  # serves nothing: not counted by default
        (worker(0, min_ready=2), 2),
        (web(0, min_ready=0), 0),
    ],
)
def test_needed_ready(watcher, needed):
    assert needed_ready(watcher) == needed


@pytest.mark.parametrize(
    ("daemon", "watchers", "ok", "reasons"),
    [
        (RUNNING, [web(4), worker(0)], True, ()),
        (RUNNING, [web(0, live=4)], False, ("web: 0 of 1 needed process(es) ready",)),
        # a rolling reload with min_ready 3 of 4: the old generation stopping leaves 3 ready: holds
        (RUNNING, [web(3, live=5, min_ready=3)], True, ()),
        (RUNNING, [web(2, live=5, min_ready=3)], False, ("web: 2 of 3 needed process(es) ready",)),
        # flapping: paused with nothing running
        (RUNNING, [web(0, live=0)], False, ("web: 0 of 1 needed process(es) ready",)),
        (RUNNING, [worker(0, min_ready=1)], False, ("worker: 0 of 1 needed process(es) ready",)),
        # on_demand and waiting for its first connection: the socket queues it
        (RUNNING, [web(0, phase=WatcherPhase.STOPPED, on_demand=True)], True, ()),
        # stopped by an operator or after flapping gave up: not serving
        (RUNNING, [web(0, phase=WatcherPhase.STOPPED)], False, ("web: 0 of 1 needed process(es) ready",)),
        # not meant to run (autostart = false) and not started: not counted
        (RUNNING, [web(0, phase=WatcherPhase.STOPPED, autostart=False)], True, ()),
        (RUNNING, [web(0, autostart=False)], False, ("web: 0 of 1 needed process(es) ready",)),
        (DaemonState.STARTING, [], False, ("circusd is starting",)),
        (DaemonState.STOPPING, [web(4)], False, ("circusd is stopping",)),
        (RUNNING, [], True, ()),
    ],
)
def test_readiness(daemon, watchers, ok, reasons):
    verdict = readiness(daemon, watchers)
    assert (verdict.ok, verdict.reasons) == (ok, reasons)


def test_status_line_counts_and_says_what_is_missing():
    assert (
        status_line(RUNNING, [web(3, live=4), worker(1)]) == "running: 2 watcher(s), 4 of 5 process(es) ready"
    )
    assert status_line(RUNNING, [web(0, live=2)]) == (
        "running: 1 watcher(s), 0 of 2 process(es) ready; not ready: web: 0 of 1 needed process(es) ready"
    )


@pytest.mark.parametrize(
    ("process_exit_code", "daemon_code"),
    [(3, 3), (-9, 137), (-15, 143), (0, 1), (None, 1), (256 + 4, 4), (256, 1)],
)
def test_daemon_exit_code(process_exit_code, daemon_code):
    from circus_web_stack.core.exits import daemon_exit_code

    assert daemon_exit_code(process_exit_code) == daemon_code
