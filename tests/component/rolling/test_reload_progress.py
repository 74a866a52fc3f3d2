"""`circusctl reload NAME --waiting` shows a live progress line on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from circus_web_stack.cli.progress import render_reload_progress


def test_render_reload_progress():
    assert render_reload_progress("web", {"old": 2, "new": 1, "ready": 0, "done": False}) == (
        "reload web: 2 old serving, 1 new (0 ready)"
    )
    assert render_reload_progress("web", {"old": 0, "new": 2, "ready": 2, "done": True}).endswith(", done")
    assert render_reload_progress("web", {"rolled_back": True, "reason": "web#3 pid=9 exited"}) == (
        "reload web: rolled back: web#3 pid=9 exited"
    )


def test_progress_line_on_a_terminal(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 3
        warmup_delay = 0.2
    """)
    d.wait_children(3)
    d.wait_log("web started")
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "circus_web_stack.cli.circusctl",
                "--endpoint",
                d.endpoint,
                "reload",
                "web",
                "--waiting",
            ],
            stderr=terminal,
            stdout=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        os.close(terminal)
        terminal = -1
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 0, done.stdout
    text = seen.decode()
    assert "reload web: 3 old serving, 1 new (0 ready)" in text
    assert "reload web: 0 old serving, 3 new (3 ready), done" in text
