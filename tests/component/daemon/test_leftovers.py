"""Nothing a watcher started outlives circusd: what its processes left in their process groups gets
the stop signal when circusd stops, and SIGKILL if it ignores it."""

from __future__ import annotations

import signal

import psutil

from circus_web_stack.testing.waiting import wait_until


def grandchild(daemon, name: str) -> psutil.Process:
    """The one child of the watcher's shell whose command line contains `name`."""
    (shell,) = daemon.wait_children(1, "sh -c")
    return wait_until(
        lambda: next((c for c in shell.children() if name in " ".join(c.cmdline())), None), 10, name
    )


def gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_shells_background_job_is_stopped_with_circusd(circusd):
    d = circusd("""
        [watcher:job]
        cmd = sh -c "echo started; sleep 3601"
    """)
    sleeper = grandchild(d, "sleep 3601")
    d.signal(signal.SIGTERM)
    assert d.wait_exit(30) == 0
    try:
        assert gone(sleeper), f"pid {sleeper.pid} outlived circusd:\n{d.log()[-2000:]}"
        assert f"left 1 process(es) in its group (pids {sleeper.pid}); sending SIGTERM" in d.log()
    finally:
        if not gone(sleeper):
            sleeper.kill()


def test_a_leftover_that_ignores_the_stop_signal_is_killed_after_graceful_timeout(circusd):
    d = circusd("""
        [watcher:job]
        cmd = sh -c "(trap '' TERM; exec sleep 3602) & wait"
        graceful_timeout = 1
    """)
    sleeper = grandchild(d, "sleep 3602")
    d.signal(signal.SIGTERM)
    assert d.wait_exit(30) == 0
    try:
        assert gone(sleeper)
        assert (
            f"pid {sleeper.pid} (left by job#1 pid=" in d.log()
            and "ignored SIGTERM for 1s; sending SIGKILL" in d.log()
        )
    finally:
        if not gone(sleeper):
            sleeper.kill()
