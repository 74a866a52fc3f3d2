"""Regression tests for defects an independent review proved against the daemon (each once hung
`stop`, leaked a process, or changed only half of what it should)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sys

import psutil

from circus_web_stack.testing.programs import stubborn_script
from circus_web_stack.testing.waiting import wait_until

PY = sys.executable


def test_stopping_many_processes_always_completes(circusd):
    d = circusd("""
        [watcher:many]
        cmd = sleep 1000
        numprocesses = 120
        graceful_timeout = 0.3
    """)
    d.wait_children(120, timeout=30)
    for _ in range(3):
        assert d.call("stop", name="many", waiting=True)["status"] == "ok"
        assert d.call("start", name="many", waiting=True)["status"] == "ok"
    d.signal(signal.SIGTERM)
    assert d.wait_exit(30) == 0


def test_turning_stderr_capture_back_on_at_runtime_leaves_no_orphan(circusd):
    d = circusd("""
        [watcher:w]
        cmd = sleep 1000
        close_child_stderr = true
    """)
    d.wait_children(1)
    reply = d.call("set", name="w", options={"close_child_stderr": False}, waiting=True)
    assert reply["status"] == "ok", reply
    (child,) = d.wait_children(1)
    assert os.readlink(f"/proc/{child.pid}/fd/2").startswith("pipe:")
    d.signal(signal.SIGTERM)
    assert d.wait_exit(20) == 0


def test_nothing_starts_while_circusd_stops(circusd, tmp_path):
    script, marker = stubborn_script(tmp_path)
    d = circusd(f"""
        [watcher:late]
        cmd = sleep 1000
        autostart = false
        priority = 10
        [watcher:slow]
        cmd = {PY} {script} slow
        graceful_timeout = 3
    """)
    wait_until(marker.exists, 10, "the slow process")
    d.signal(signal.SIGTERM)
    d.wait_log("stopping slow#1")
    reply = d.call("start", name="late", waiting=True)
    assert reply["status"] == "error" and "stopping" in reply["reason"]
    assert d.wait_exit(20) == 0
    assert d.children() == []


def test_one_watcher_that_cannot_start_does_not_stop_the_others(circusd, tmp_path):
    d = circusd(f"""
        [watcher:broken]
        cmd = sleep 1000
        priority = 10
        stdout_stream.class = FileStream
        stdout_stream.filename = {tmp_path}/no/such/dir/out.log
        [watcher:fine]
        cmd = sleep 1001
    """)
    d.wait_children(1, "sleep 1001")
    d.wait_log(r"broken could not start: .*no/such/dir")
    assert d.call("status")["statuses"] == {"broken": "stopped", "fine": "active"}


def test_a_vanished_log_directory_does_not_stop_supervision(circusd, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    d = circusd(
        """
        [watcher:w]
        cmd = sleep 1000
    """,
        extra_args=("--log-output", str(logs / "circusd.log")),
    )
    (victim,) = d.wait_children(1)
    shutil.rmtree(logs)
    victim.kill()
    wait_until(lambda: [k for k in d.children() if k.pid != victim.pid], 5, "a replacement despite the log")
    d.signal(signal.SIGUSR1)
    d.signal(signal.SIGTERM)
    assert d.wait_exit(20) == 0


def test_reloadconfig_with_an_unimportable_hook_changes_nothing(circusd):
    d = circusd("""
        [watcher:w]
        cmd = sleep 1000
    """)
    d.wait_children(1)
    d.ini_path.write_text(
        "[watcher:w]\ncmd = sleep 1000\nhooks.before_spawn = no_such_module.hook\n"
        "[watcher:added]\ncmd = sleep 1001\n"
    )
    reply = d.call("reloadconfig", waiting=True)
    assert reply["status"] == "error" and "nothing changed" in reply["reason"]
    assert "no_such_module" in reply["reason"]
    assert d.call("list")["watchers"] == ["w"]


def test_rm_nostop_leaves_the_processes_alone_and_unsupervised(circusd):
    d = circusd("""
        [watcher:w]
        cmd = sleep 1000
        [watcher:other]
        cmd = sleep 1001
    """)
    (kept,) = d.wait_children(1, "sleep 1000")
    try:
        assert d.call("rm", name="w", nostop=True, waiting=True)["status"] == "ok"
        assert kept.is_running()
        kept.kill()
        kept.wait(5)
        # The exit is still reaped (and logged), but nothing respawns the process.
        d.wait_log(rf"exited w#1 pid={kept.pid}: killed by SIGKILL")
        assert d.log().count("spawned w#") == 1
        assert d.children("sleep 1000") == []
    finally:
        if kept.is_running():
            kept.kill()


def test_a_draining_process_keeps_its_wid(circusd, tmp_path):
    marker = tmp_path / "ready"
    script = tmp_path / "slow.py"
    script.write_text(
        "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: (time.sleep(1.5), "
        f"sys.exit(0)))\nopen({str(marker)!r}, 'a').close()\ntime.sleep(1000)\n"
    )
    d = circusd(f"""
        [watcher:w]
        cmd = {PY} {script} $(circus.wid)
        graceful_timeout = 5
    """)
    wait_until(marker.exists, 10, "the first process")
    assert d.call("reload", name="w", waiting=True)["status"] == "ok"
    spawned = re.findall(r"spawned (w#\d+) pid=", d.log())
    assert spawned == ["w#1", "w#2"], spawned  # the successor did not take w#1 while it drained


def test_sequential_reload_starts_each_successor_after_its_predecessor_is_gone(circusd):
    d = circusd("""
        [watcher:w]
        cmd = sleep 1000
        numprocesses = 2
    """)
    d.wait_children(2)
    assert d.call("reload", name="w", sequential=True, waiting=True)["status"] == "ok"
    events = re.findall(r"(spawned|reaped) w#\d pid=(\d+)", d.log())
    lifecycle = [kind for kind, _ in events][2:]  # after the first two spawns
    assert lifecycle == ["reaped", "spawned", "reaped", "spawned"], lifecycle


def test_replace_never_unlinks_a_socket_someone_listens_on(circusd, tmp_path):
    path = tmp_path / "web.sock"
    ini = f"""
        [socket:web]
        path = {path}
        replace = true
        [watcher:w]
        cmd = sleep 1000
    """
    first = circusd(ini)
    first.wait_children(1)
    second = circusd(ini)
    assert second.wait_exit(20) == 71
    assert "in use by a running process" in second.log() + second.stderr()
    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(str(path))  # still the first daemon's socket
    assert psutil.Process(first.pid).is_running()
