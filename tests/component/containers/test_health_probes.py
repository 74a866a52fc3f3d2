"""The health probes over real HTTP: /readyz holds through a rolling reload while the minimum keeps
serving, fails while a watcher flaps, and /livez fails (503, in time) when the hub does not answer."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time

from circus_web_stack.testing.waiting import wait_until
from tests.component.containers.test_systemd import NOTIFIER

# A before_start hook that holds the hub for 3 s, as a hook doing blocking I/O would; it says when.
BLOCKING_HOOK = """
import time

def hold(watcher, arbiter, hook_name, **kw):
    open("holding", "w").close()
    time.sleep(3)
    return True
"""


def probe(port: int, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_probes_through_a_reload_a_flapping_watcher_and_a_blocked_hub(circusd, tmp_path):
    notifier = tmp_path / "notifier.py"
    notifier.write_text(NOTIFIER)
    (tmp_path / "blocking_hook.py").write_text(BLOCKING_HOOK)
    d = circusd(
        f"""
        [circus]
        health_endpoint = 127.0.0.1:0
        health_timeout = 0.5
        [watcher:web]
        cmd = {sys.executable} {notifier}
        numprocesses = 2
        readiness = notify
        min_ready = 2
        [watcher:crashy]
        cmd = false
        autostart = false
        min_ready = 1
        flapping.attempts = 2
        flapping.window = 10
        flapping.retry_in = 60
        [watcher:blocker]
        cmd = sleep 1000
        autostart = false
        hooks.before_start = blocking_hook.hold
        """,
        workdir=tmp_path,
    )
    port = int(d.wait_log(r"health probes on http://127\.0\.0\.1:(\d+)/livez")[1])
    assert probe(port, "/livez") == (200, {"status": "ok", "reasons": []})
    wait_until(lambda: probe(port, "/readyz")[0] == 200, 15, "ready once both workers said READY=1")

    # A rolling reload: max_surge 1 starts a new worker, stops an old one only once the new is ready.
    reload = d.call_in_background("reload", name="web", waiting=True)
    answers = []
    while not reload.answered():
        answers.append(probe(port, "/readyz"))
        time.sleep(0.02)
    assert reload.reply()["status"] == "ok"
    assert len(answers) >= 10, "the reload took at least two READY=1 delays of 0.3 s"
    assert all(answer == (200, {"status": "ok", "reasons": []}) for answer in answers), answers

    # A watcher that flaps (paused 60 s after two exits) makes the daemon unready, yet alive.
    d.call("start", name="crashy")
    d.wait_log(r"crashy is flapping")
    assert probe(port, "/readyz") == (
        503,
        {"status": "fail", "reasons": ["crashy: 0 of 1 needed process(es) ready"]},
    )
    assert probe(port, "/livez")[0] == 200

    # A hub held by a blocking hook: the probe thread still answers, 503 within health_timeout.
    start = d.call_in_background("start", name="blocker", waiting=True)
    wait_until((tmp_path / "holding").exists, 10, "the hook to hold the hub")
    began = time.monotonic()
    status, body = probe(port, "/livez")
    assert (status, body["reasons"]) == (
        503,
        ["circusd's hub did not answer within 0.5s (health_timeout)"],
    )
    assert time.monotonic() - began < 2
    start.reply()
    assert probe(port, "/livez") == (200, {"status": "ok", "reasons": []})


def test_garbage_and_unknown_paths_get_clear_errors(circusd):
    d = circusd(
        """
        [circus]
        health_endpoint = 127.0.0.1:0
        [watcher:sleeper]
        cmd = sleep 1000
        """
    )
    port = int(d.wait_log(r"health probes on http://127\.0\.0\.1:(\d+)/livez")[1])
    assert probe(port, "/metrics") == (404, {"error": "unknown path '/metrics'; try /livez or /readyz"})
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        assert raw.makefile("rb").readline().startswith(b"HTTP/1.0 400")
    assert probe(port, "/readyz")[0] == 200  # no watcher needs anything: sleeper serves no socket
