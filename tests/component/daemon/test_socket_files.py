"""When circusd exits, no socket file it made is left: its control, event and stats endpoints (the
stats one bound by its circusd-stats) and the unix sockets of [socket:NAME], after a graceful stop
and after a fast one."""

from __future__ import annotations

import signal

import pytest

from circus_web_stack.testing.waiting import wait_until


@pytest.mark.parametrize(
    ("signum", "freeze_stats"),
    [(signal.SIGTERM, False), (signal.SIGQUIT, False), (signal.SIGQUIT, True)],
    ids=["graceful", "fast", "fast-with-circusd-stats-SIGKILLed"],
)
def test_no_socket_file_outlives_circusd(circusd, tmp_path, signum, freeze_stats):
    """With circusd-stats frozen (SIGSTOP), the fast stop SIGKILLs it after 1 s, so it cannot remove
    its stats socket: circusd does."""
    workdir = tmp_path / "d"
    workdir.mkdir()
    d = circusd(
        f"""
        [circus]
        statsd = true
        [socket:web]
        path = {workdir}/web.sock
        [watcher:web]
        cmd = sleep 1000
        use_sockets = true
        """,
        workdir=workdir,
    )
    d.wait_children(2)  # web and circusd-stats
    names = {"control.sock", "pubsub.sock", "stats.sock"}
    wait_until(lambda: names <= {p.name for p in d.runtime_dir.iterdir()}, 10, f"{names} in the runtime dir")
    assert (workdir / "web.sock").is_socket()
    if freeze_stats:
        (stats,) = d.children("circusd_stats")
        stats.suspend()
    d.signal(signum)
    assert d.wait_exit(20) == 0
    left = [p.name for p in [*d.runtime_dir.iterdir(), *workdir.iterdir()] if p.is_socket()]
    assert left == [], f"socket files left after circusd exited: {left}"
