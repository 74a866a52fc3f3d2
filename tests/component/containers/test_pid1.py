"""circusd as PID 1 of a new PID namespace (what a container's entry point is): orphans are reaped at
once and never mistaken for a watcher's process, every signal a container runtime sends is handled,
and exit_on_failure ends it with the failed process's code. With subreaper = true, the same reaping
outside a namespace."""

from __future__ import annotations

import contextlib
import signal
import sys

import psutil
import pytest

from circus_web_stack.testing.harness import PID_NAMESPACE
from circus_web_stack.testing.waiting import wait_until

ORPHANS = 200

# Each round forks a child that forks a grandchild and exits at once: the grandchild is re-parented to
# PID 1 (circusd) and exits 30 ms later. The watcher's own process stays up.
ORPHAN_MAKER = """
import os, sys, time
for _ in range(int(sys.argv[1])):
    child = os.fork()
    if child == 0:
        if os.fork() == 0:
            time.sleep(0.03)
            os._exit(5)
        os._exit(0)
    os.waitpid(child, 0)
    time.sleep(0.005)
open(sys.argv[2], "w").close()
time.sleep(3600)
"""


def zombies_of(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(psutil.NoSuchProcess):
        for kid in psutil.Process(pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if kid.status() == psutil.STATUS_ZOMBIE:
                    found.append(kid.pid)
    return found


def orphan_maker(directory, count: int):
    """(the command of a watcher that leaves `count` orphans, the file it creates once it has)."""
    script = directory / "orphans.py"
    script.write_text(ORPHAN_MAKER)
    done = directory / "orphans.done"
    return f"{sys.executable} {script} {count} {done}", done


@pytest.mark.usefixtures("pid_namespace")
def test_pid1_reaps_orphans_keeps_exit_codes_and_stops_clean(circusd, tmp_path):
    maker, done = orphan_maker(tmp_path, ORPHANS)
    d = circusd(
        f"""
        [watcher:orphans]
        cmd = {maker}
        [watcher:exiter]
        cmd = sh -c 'sleep 0.05; exit 7'
        flapping.attempts = 100000
        """,
        launcher=PID_NAMESPACE,
    )
    d.wait_log(r"reaping orphans as PID 1", 15)
    wait_until(done.exists, 30, "the orphan maker to finish")
    wait_until(lambda: not zombies_of(d.pid), 5, f"no zombie left (now {zombies_of(d.pid)})")
    wait_until(lambda: d.log().count("reaped orphan pid=") >= ORPHANS, 5, f"{ORPHANS} orphans reaped")
    assert d.log().count("reaped orphan pid=") == ORPHANS
    assert d.log().count(": exited with code 5") == ORPHANS, "each orphan's own status, as the kernel gave it"
    # The exiter's processes died meanwhile, side by side with the orphans: each exit kept its status.
    exits = [line for line in d.log().splitlines() if "exited exiter#" in line]
    assert len(exits) >= 10, exits
    assert all("exited with code 7" in line for line in exits), [x for x in exits if "code 7" not in x]
    assert d.log().count("spawned orphans#") == 1, "the orphan maker itself was never replaced"

    # What container runtimes send: a tty resize, signals with nothing to do, a reload; circusd stays.
    for signum in (signal.SIGWINCH, signal.SIGUSR2, signal.SIGUSR1):
        d.signal(signum)
    d.signal(signal.SIGHUP)
    d.wait_log(r"got SIGHUP: reloading the configuration")
    d.wait_log(r"got SIGUSR1: reopening log files")
    assert d.proc.poll() is None
    d.signal(signal.SIGTERM)
    assert d.wait_exit(30) == 0
    assert "circusd stopped" in d.log()


@pytest.mark.usefixtures("pid_namespace")
def test_exit_on_failure_exits_with_the_failed_process_code(circusd):
    d = circusd(
        """
        [circus]
        exit_on_failure = failing
        [watcher:failing]
        cmd = sh -c 'exit 3'
        flapping.attempts = 2
        flapping.window = 10
        flapping.max_retry = 0
        [watcher:steady]
        cmd = sleep 1000
        """,
        launcher=PID_NAMESPACE,
    )
    code = d.wait_exit(30)
    assert code == 3, d.log()[-2000:] + d.stderr()[-500:]
    assert "failing failed for good (exit_on_failure)" in d.log()
    assert "circusd stopped" in d.log()


def test_subreaper_reaps_the_orphans_of_its_workers(circusd, tmp_path):
    maker, done = orphan_maker(tmp_path, 50)
    d = circusd(
        f"""
        [circus]
        subreaper = true
        [watcher:orphans]
        cmd = {maker}
        """
    )
    d.wait_log(r"reaping orphans as a child subreaper")
    wait_until(done.exists, 30, "the orphan maker to finish")
    # Without PR_SET_CHILD_SUBREAPER they would have gone to init (or another subreaper), not to circusd.
    wait_until(lambda: d.log().count("reaped orphan pid=") == 50, 5, "50 orphans reaped by circusd")
    assert not zombies_of(d.pid)


def test_exit_on_failure_naming_no_watcher_is_refused(circusd):
    d = circusd(
        """
        [circus]
        exit_on_failure = wbe
        [watcher:web]
        cmd = sleep 1000
        """
    )
    assert d.wait_exit(20) == 78
    assert "exit_on_failure: wbe names no watcher (watchers: web; * for any)" in d.log()
    assert d.children() == []
