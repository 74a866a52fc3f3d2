"""Circus 0.19's own circusctl drives circusd unchanged (wire compatibility, PROTOCOL.md section 1)."""

from __future__ import annotations

import subprocess

from circus_web_stack.testing.waiting import wait_until


def test_circus_circusctl_commands(circusd, circus_peer):
    circus_circusctl = circus_peer / "circusctl"
    d = circusd("""
        [socket:web]
        host = 127.0.0.1
        port = 0
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
        graceful_timeout = 5
    """)
    d.wait_children(2)
    d.wait_log("control endpoint on ")

    def ctl(*args: str) -> str:
        done = subprocess.run(
            [str(circus_circusctl), "--endpoint", d.endpoint, "--timeout", "10", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout.strip()

    assert ctl("list") == "web"
    pids = ctl("list", "web").split(",")
    assert len(pids) == 2
    assert ctl("status") == "web: active"
    assert ctl("status", "web") == "active"
    assert ctl("incr", "web") == "ok"
    d.wait_children(3)
    assert ctl("decr", "web") == "ok"
    d.wait_children(2)
    stats = ctl("stats", "web")
    assert stats.startswith("web:") and " sleep " in stats
    fd = d.call("listsockets")["sockets"][0]["fd"]
    assert ctl("listsockets").startswith(f"{fd}:socket 'web' at 127.0.0.1:")
    assert ctl("get", "web", "numprocesses", "graceful_timeout") == "numprocesses: 2\ngraceful_timeout: 5.0"
    assert ctl("set", "web", "numprocesses", "3") == "ok"
    d.wait_children(3)
    before = set(d.call("list", name="web")["pids"])
    assert ctl("reload", "web") == "ok"
    wait_until(
        lambda: not before & set(d.call("list", name="web")["pids"]) and len(d.children()) == 3,
        20,
        "every process replaced",
    )
