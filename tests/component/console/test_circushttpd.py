"""circushttpd as circusd runs it (`httpd = true`) and as a person starts it: secure defaults at
start, the token login, one live stream carrying events, output lines and stats."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time

from circus_web_stack.testing.curve import make_curve_files
from circus_web_stack.testing.harness import Daemon
from circus_web_stack.testing.waiting import wait_until

TOKEN_LINE = re.compile(r"log in at (?P<base>http://[^/\s]+)/login\?token=(?P<token>\S+)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _circushttpd(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "circus_web_stack.cli.circushttpd", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=30,
    )


def test_refuses_a_public_address_without_a_password():
    done = _circushttpd("--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 77
    assert "refusing to listen on 0.0.0.0, which is not loopback, without a password" in done.stderr


def test_hash_password_prints_a_hash_the_console_accepts():
    done = _circushttpd("--hash-password", stdin="s3cret\n")
    assert done.returncode == 0
    stored = done.stdout.strip()
    assert stored.startswith("scrypt:") and "s3cret" not in stored
    bad = _circushttpd("--password-hash", "plain", "--port", "0")
    assert bad.returncode == 2 and "not a password hash" in bad.stderr


def _get(base: str, path: str, cookie: str = "") -> http.client.HTTPResponse:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    return connection.getresponse()


def test_httpd_true_runs_the_console_as_a_helper_watcher(tmp_path):
    program = tmp_path / "talk.py"
    program.write_text("import time\nwhile True:\n    print('talking', flush=True)\n    time.sleep(0.2)\n")
    ini = f"""
        [circus]
        statsd = true
        stats_interval = 0.5
        httpd = true
        httpd_port = {_free_port()}

        [watcher:talker]
        cmd = {sys.executable} {program}
        stdout_stream.class = FileStream
        stdout_stream.filename = {tmp_path / "talker.log"}
    """
    with Daemon(tmp_path, ini) as daemon:
        daemon.wait_running(20)
        match = wait_until(lambda: TOKEN_LINE.search(daemon.stderr()), 20, "circushttpd's token line")
        assert daemon.call("status", name="circushttpd")["status"] == "active"
        wait_until(lambda: _try(lambda: _get(match["base"], "/login").status == 200), 10, "the console")
        answer = _get(match["base"], "/login?token=" + match["token"])
        assert answer.status == 303
        cookie = answer.getheader("Set-Cookie").split(";")[0]
        state = wait_until(
            lambda: (lambda s: s if s["daemons"][0]["connected"] else None)(
                json.loads(_get(match["base"], "/api/state", cookie).read())
            ),
            10,
            "the console connected",
        )
        assert "talker" in state["daemons"][0]["watchers"]
        live = _get(match["base"], f"/api/live?since={state['cursor']}", cookie)
        assert live.getheader("Content-Type") == "text/event-stream"
        seen: set[str] = set()
        deadline = time.monotonic() + 15
        while not {"output", "tick"} <= seen and time.monotonic() < deadline:
            line = live.readline().decode()
            if line.startswith("event: "):
                seen.add(line.split()[1])
            if line.startswith("data: ") and '"talking"' in line:
                assert json.loads(line[6:])["watcher"] == "talker"
        assert {"output", "tick"} <= seen
        live.close()
        # the log file got every line as before: the tap only looks
        assert "talking" in (tmp_path / "talker.log").read_text()


def _logged_in_state(base: str, token: str) -> dict:
    answer = _get(base, "/login?token=" + token)
    assert answer.status == 303
    cookie = answer.getheader("Set-Cookie").split(";")[0]
    return json.loads(_get(base, "/api/state", cookie).read())


def test_over_curve_by_hand_and_as_the_helper(tmp_path):
    """circushttpd reaches a CurveZMQ daemon with circusctl's key options, and as `httpd = true`'s
    helper with the daemon's own key pair (which curve_client_keys_dir need not list)."""
    keys = make_curve_files(tmp_path)
    control, pubsub, stats, httpd = (_free_port() for _ in range(4))
    ini = f"""
        [circus]
        endpoint = tcp://127.0.0.1:{control}
        pubsub_endpoint = tcp://127.0.0.1:{pubsub}
        stats_endpoint = tcp://127.0.0.1:{stats}
        curve_secret_key_file = {keys.server_secret}
        curve_client_keys_dir = {keys.allowed}
        statsd = true
        stats_interval = 0.5
        httpd = true
        httpd_port = {httpd}

        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
    """
    with Daemon(tmp_path, ini) as daemon:
        daemon.wait_running(20)
        helper = wait_until(lambda: TOKEN_LINE.search(daemon.stderr()), 20, "the helper's token line")
        by_hand = subprocess.Popen(
            [
                *(sys.executable, "-m", "circus_web_stack.cli.circushttpd", "--port", "0"),
                *("--endpoint", f"tcp://127.0.0.1:{control}", "--curve-server-key", keys.server_public),
                *("--curve-client-key", keys.client_secret, "--secret-file", str(tmp_path / "secret")),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = wait_until(lambda: TOKEN_LINE.search(by_hand.stderr.readline()), 20, "the token line")
            for found in (helper, line):
                wait_until(lambda f=found: _try(lambda: _get(f["base"], "/login").status == 200), 10, "up")

                def two_processes(f=found):
                    daemon_view = _logged_in_state(f["base"], f["token"])["daemons"][0]
                    return daemon_view["connected"] and len(daemon_view["watchers"]["web"]["processes"]) == 2

                wait_until(two_processes, 15, f"{found['base']} connected over CurveZMQ")
        finally:
            by_hand.terminate()
            by_hand.wait(15)


def _try(probe):
    try:
        return probe()
    except OSError:
        return None
