"""The Python API as a library user calls it: get_arbiter() and a standalone Watcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import psutil

from circus_web_stack.testing.recipes import recipe
from circus_web_stack.testing.waiting import wait_until


def run_script(tmp_path, code: str) -> subprocess.Popen:
    script = tmp_path / "api_user.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"CIRCUS_RUNTIME_DIR": str(tmp_path / "run"), "PATH": "/usr/bin:/bin"},
    )


def sleep_children(pid: int) -> list[psutil.Process]:
    try:
        return [c for c in psutil.Process(pid).children() if c.status() != psutil.STATUS_ZOMBIE]
    except psutil.NoSuchProcess:
        return []


def test_get_arbiter_runs_watchers_until_sigterm(tmp_path):
    proc = run_script(
        tmp_path,
        """
        from circus_web_stack import get_arbiter
        arbiter = get_arbiter([{"cmd": "sleep 1000", "numprocesses": 3},
                               {"name": "other", "cmd": "sleep 1001"}])
        arbiter.start()
        print("stopped", sorted(w.name for w in arbiter.watchers))
    """,
    )
    try:
        kids = wait_until(
            lambda: (lambda k: k if len(k) == 4 else None)(sleep_children(proc.pid)), 10, "4 processes"
        )
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "stopped ['other', 'sleep']" in out
        assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_watcher_and_process_work_on_their_own(tmp_path):
    proc = run_script(
        tmp_path,
        """
        import json
        from circus_web_stack import Watcher, Process
        w = Watcher("solo", "sleep 1000", numprocesses=2)
        started = w.start()["started"]
        procs = w.live_processes()
        print(json.dumps({"started": started, "repr": [repr(p) for p in procs], "len": len(w),
                          "is_process": all(isinstance(p, Process) for p in procs)}), flush=True)
        stopped = w.stop()["stopped"]
        print(json.dumps({"stopped": stopped, "state": w.state.value}))
    """,
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    first, second = (json.loads(line) for line in out.splitlines())
    assert len(first["started"]) == 2 and first["len"] == 2 and first["is_process"]
    assert first["repr"][0].startswith("<Process solo#1 pid=") and " running " in first["repr"][0]
    assert sorted(second["stopped"]) == sorted(first["started"])
    assert second["state"] == "stopped"
    assert not any(
        psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in first["started"]
    )


def test_the_documented_library_script_runs_as_written(tmp_path):
    """docs/library.md's script (a threaded arbiter driven from plain Python through Circus's
    Arbiter API) prints what the doc says it prints, and leaves no process behind."""
    proc = run_script(tmp_path, recipe("library-threaded-arbiter").text)
    expected = recipe("library-threaded-arbiter-output").text
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out == expected
    assert "Traceback" not in err
    assert not in_session(proc.pid), "the arbiter's processes outlived its stop()"


def in_session(sid: int) -> list[int]:
    """Live processes of session `sid` (the script's own: its watchers' processes stay in it)."""
    found = []
    for p in psutil.process_iter(["status"]):
        try:
            if os.getsid(p.pid) == sid and p.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(p.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return found
