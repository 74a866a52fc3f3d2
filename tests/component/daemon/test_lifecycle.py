"""circusd starts every watcher with its processes, respawns crashes at once, and stops gracefully."""

from __future__ import annotations

import re
import signal
import sys
import time

import psutil
import pytest

from circus_web_stack.testing.programs import stubborn_script
from circus_web_stack.testing.waiting import wait_until

PY = sys.executable


def test_starts_processes_and_stops_gracefully_with_exit_0(circusd):
    d = circusd("""
        [watcher:sleepers]
        cmd = sleep 1000
        numprocesses = 3
    """)
    kids = d.wait_children(3, "sleep")
    assert {k.cmdline()[0] for k in kids} == {"sleep"}
    d.signal(signal.SIGTERM)
    assert d.wait_exit(20) == 0
    assert all(not psutil.pid_exists(k.pid) or k.status() == psutil.STATUS_ZOMBIE for k in kids)
    assert "circusd stopped" in d.log()


def test_crashed_process_is_respawned_within_one_second(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
    """)
    victim, other = d.wait_children(2, "sleep")
    t0 = time.monotonic()
    victim.kill()
    replacement = wait_until(
        lambda: [k for k in d.children("sleep") if k.pid not in (victim.pid, other.pid)],
        2.0,
        "a replacement process",
    )
    took = time.monotonic() - t0
    assert took < 1.0, f"respawn took {took:.3f}s"
    assert len(replacement) == 1
    d.wait_log(rf"exited web#\d pid={victim.pid}: killed by SIGKILL")


def test_priority_orders_start_and_reverse_stop(circusd):
    d = circusd("""
        [watcher:db]
        cmd = sleep 1000
        priority = 10
        [watcher:web]
        cmd = sleep 1001
        priority = 5
        [watcher:cron]
        cmd = sleep 1002
        priority = 0
    """)
    d.wait_log("cron started")
    log = d.log()
    assert log.index("db started") < log.index("web started") < log.index("cron started")
    d.signal(signal.SIGTERM)
    assert d.wait_exit(20) == 0
    log = d.log()
    assert log.index("cron stopped") < log.index("web stopped") < log.index("db stopped")


@pytest.mark.parametrize(
    ("signum", "graceful_timeout", "at_least", "at_most"),
    [(signal.SIGTERM, 1, 0.9, 5), (signal.SIGQUIT, 60, 0.0, 5)],
    ids=["sigterm-waits-graceful-timeout", "sigquit-is-fast"],
)
def test_a_process_ignoring_sigterm(circusd, tmp_path, signum, graceful_timeout, at_least, at_most):
    """SIGTERM to circusd waits out graceful_timeout then SIGKILLs; SIGQUIT does not wait."""
    script, marker = stubborn_script(tmp_path)
    d = circusd(f"""
        [watcher:stubborn]
        cmd = {PY} {script}
        graceful_timeout = {graceful_timeout}
    """)
    wait_until(marker.exists, 10, "the stubborn process to ignore SIGTERM")
    t0 = time.monotonic()
    d.signal(signum)
    assert d.wait_exit(20) == 0
    assert at_least <= time.monotonic() - t0 < at_most
    if signum == signal.SIGTERM:
        d.wait_log(r"stubborn#1 pid=\d+ ignored SIGTERM for 1s \(graceful_timeout\); sending SIGKILL")


def test_a_second_ctrl_c_stops_fast_and_says_so(circusd, tmp_path):
    """The first SIGINT starts the graceful stop and says a second one stops fast; the second says
    that it does (it used to log "graceful stop" again) and the stubborn process is gone in ~1 s."""
    script, marker = stubborn_script(tmp_path)
    d = circusd(f"""
        [watcher:stubborn]
        cmd = {PY} {script}
        graceful_timeout = 60
    """)
    wait_until(marker.exists, 10, "the stubborn process to ignore SIGTERM")
    d.signal(signal.SIGINT)
    d.wait_log(r"got SIGINT: graceful stop \(send it again to stop fast\)")
    t0 = time.monotonic()
    d.signal(signal.SIGINT)
    assert d.wait_exit(20) == 0
    assert time.monotonic() - t0 < 5
    log = d.log()
    assert log.count("got SIGINT: graceful stop") == 1
    assert "got SIGINT again: fast stop (SIGKILL 1s after the stop signal)" in log
    assert re.search(r"stubborn#1 pid=\d+ ignored SIGTERM for 1s \(fast stop\); sending SIGKILL", log), log


def test_stop_children_kills_the_whole_tree(circusd):
    d = circusd("""
        [watcher:tree]
        cmd = sh -c 'sleep 1000 & sleep 1001 & sh -c "sleep 1002" & wait'
        stop_children = true
        graceful_timeout = 2
    """)
    (top,) = d.wait_children(1)
    tree = wait_until(
        lambda: (lambda t: t if len(t) >= 4 else None)(top.children(recursive=True)), 5, "the process tree"
    )
    d.signal(signal.SIGTERM)
    assert d.wait_exit(20) == 0
    alive = [p.pid for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == []


@pytest.mark.slow
def test_a_slow_stop_does_not_delay_another_watchers_respawn(circusd, tmp_path):
    """One watcher's process ignores SIGTERM for a long graceful_timeout (recycled by max_age);
    meanwhile another watcher's crashed process still comes back in under a second."""
    script, _ = stubborn_script(tmp_path)
    d = circusd(f"""
        [watcher:stubborn]
        cmd = {PY} {script}
        graceful_timeout = 90
        max_age = 1
        max_age_variance = 0
        [watcher:quick]
        cmd = sleep 1000
    """)
    (victim,) = d.wait_children(1, "sleep")
    d.wait_log(r"stopping stubborn#1 pid=\d+ \(max_age\) with SIGTERM")
    t0 = time.monotonic()
    victim.kill()
    wait_until(lambda: [k for k in d.children("sleep") if k.pid != victim.pid], 2.0, "quick's replacement")
    assert time.monotonic() - t0 < 1.0
    d.signal(signal.SIGQUIT)  # do not wait 90 s for the stubborn one
    assert d.wait_exit(20) == 0
