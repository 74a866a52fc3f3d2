"""Rolling reloads with real chaussette workers: ready before replaced, zero failed requests, and a
broken deploy rolled back with the old processes untouched."""

from __future__ import annotations

import http.client
import signal
import sys
import textwrap
import threading
import time

import pytest

from circus_web_stack.testing.events import EventCollector
from circus_web_stack.testing.waiting import wait_until

PY = sys.executable

APP = """
import os, time
time.sleep(0.3)  # an app that takes a moment to import, as real ones do
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"generation {os.environ.get('GEN', '1')} pid {os.getpid()}".encode()]
"""


def ini(tmp_path, numprocesses=2, extra=""):
    return f"""
        [socket:web]
        host = 127.0.0.1
        port = 0
        [watcher:web]
        cmd = {PY} -m chaussette_compat --fd $(circus.sockets.web) --no-access-log app:application
        working_dir = {tmp_path}
        use_sockets = true
        numprocesses = {numprocesses}
        graceful_timeout = 10
        ready_timeout = 10
        {extra}
    """


def port_of(daemon) -> int:
    return int(daemon.wait_log(r"bound socket web on 127\.0\.0\.1:(\d+)")[1])


def get(port: int, conn: http.client.HTTPConnection | None = None) -> tuple[int, str]:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    return response.status, response.read().decode()


class Load:
    """Bounded load: `clients` threads, half keep-alive, each up to `limit` requests and `max_s` seconds
    from the start; every failure kept. The limit is well above what a test's reloads take (the server
    answers about 10,000 requests a second here): a client that runs out stops the load a test waits
    for."""

    def __init__(self, port: int, clients: int = 8, limit: int = 200_000, max_s: float = 120.0) -> None:
        self.port, self.ok, self.failures = port, 0, []
        self.max_s = max_s
        self.deadline = float("inf")  # counted from __enter__
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(i % 2 == 0, limit), daemon=True) for i in range(clients)
        ]

    def _run(self, keep_alive: bool, limit: int) -> None:
        conn = None
        for _ in range(limit):
            if self._stop.is_set() or time.monotonic() > self.deadline:
                break
            retried = False
            while True:
                fresh = conn is None
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                try:
                    status, _ = get(self.port, conn)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                    conn.close()
                    conn = None
                    # A reused keep-alive connection closed before any byte of a response: retry once,
                    # as HTTP clients do. Anything else is a failure.
                    if not fresh and not retried:
                        retried = True
                        continue
                    self._fail(repr(exc))
                    break
                except OSError as exc:
                    conn.close()
                    conn = None
                    self._fail(repr(exc))
                    break
                with self._lock:
                    if status == 200:
                        self.ok += 1
                    else:
                        self.failures.append(f"HTTP {status}")
                if not keep_alive:
                    conn.close()
                    conn = None
                break
        if conn is not None:
            conn.close()

    def _fail(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)

    def __enter__(self) -> Load:
        self.deadline = time.monotonic() + self.max_s
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(30)


@pytest.mark.slow
def test_reloads_under_load_fail_no_request(circusd, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    d = circusd(ini(tmp_path))
    port = port_of(d)
    wait_until(lambda: get(port)[0] == 200, 15, "the app to serve")
    events = EventCollector(d.pubsub_endpoint)
    try:
        with Load(port) as load:
            wait_until(lambda: load.ok > 50, 10, "load to flow")
            for _ in range(3):
                before = set(d.call("list", name="web")["pids"])
                reply = d.call("reload", name="web", waiting=True)
                assert reply["status"] == "ok", reply
                assert set(reply["info"]["stopped"]) == before
                assert not before & set(d.call("list", name="web")["pids"])
            served_before_end = load.ok
            wait_until(lambda: load.ok > served_before_end + 50, 10, "load to flow after the reloads")
        assert load.failures == [], load.failures[:10]
        assert load.ok > 100
        progress = [e.payload for e in events.named("web", "reload")]
        assert any("ready" in p and "old" in p and "new" in p for p in progress)
    finally:
        events.close()
    log = d.log()
    # Ready before replaced: every old process got its stop signal after a new one said READY=1.
    assert "ready after" in log


def test_a_broken_deploy_is_rolled_back_and_the_old_processes_keep_serving(circusd, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    d = circusd(ini(tmp_path))
    port = port_of(d)
    wait_until(lambda: get(port)[0] == 200, 15, "the app to serve")
    before = set(d.call("list", name="web")["pids"])
    (tmp_path / "app.py").write_text("raise RuntimeError('the new release is broken')\n")
    reply = d.call("reload", name="web", waiting=True)
    assert reply["status"] == "error"
    assert "rolled back" in reply["reason"]
    assert "before it was ready" in reply["reason"]
    assert "RuntimeError: the new release is broken" in reply["reason"]
    assert set(d.call("list", name="web")["pids"]) == before
    assert get(port)[0] == 200


# Says READY=1 only the first time it runs (in `tmp`), then never again: a release that hangs at start.
READY_ONCE = """
import pathlib, sys, time
from chaussette_compat.notify import sd_notify
first = pathlib.Path(sys.argv[1]) / "ran-once"
if not first.exists():
    first.touch()
    sd_notify("READY=1")
time.sleep(1000)
"""


def test_a_process_that_never_reports_ready_is_rolled_back(circusd, tmp_path):
    (tmp_path / "prog.py").write_text(READY_ONCE)
    d = circusd(f"""
        [watcher:quiet]
        cmd = {PY} {tmp_path / "prog.py"} {tmp_path}
        readiness = notify
        ready_timeout = 1
    """)
    d.wait_log(r"quiet#1 pid=\d+ ready after")
    before = d.call("list", name="quiet")["pids"]
    t0 = time.monotonic()
    reply = d.call("reload", name="quiet", waiting=True)
    assert reply["status"] == "error"
    assert "was not ready after 1s (ready_timeout)" in reply["reason"]
    assert time.monotonic() - t0 < 5
    assert d.call("list", name="quiet")["pids"] == before


def test_outside_a_reload_a_process_not_ready_in_time_is_stopped_and_replaced(circusd, tmp_path):
    (tmp_path / "prog.py").write_text(READY_ONCE)
    (tmp_path / "ran-once").touch()  # so no process of this watcher will ever say READY=1
    d = circusd(f"""
        [watcher:hung]
        cmd = {PY} {tmp_path / "prog.py"} {tmp_path}
        readiness = notify
        ready_timeout = 0.5
    """)
    (first,) = d.wait_children(1)
    d.wait_log(rf"hung#1 pid={first.pid} was not ready after 0.5s \(ready_timeout\); stopping it")
    wait_until(lambda: first.pid not in d.call("list", name="hung")["pids"], 10, "the hung process to go")
    wait_until(lambda: len(d.call("list", name="hung")["pids"]) == 1, 10, "a replacement")
    assert d.call("status", name="hung")["status"] == "active"


def test_a_broken_cmd_set_at_runtime_is_rolled_back_with_the_config(circusd, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    d = circusd(ini(tmp_path))
    port = port_of(d)
    wait_until(lambda: get(port)[0] == 200, 15, "the app to serve")
    good_cmd = d.call("get", name="web", keys=["cmd"])["options"]["cmd"]
    before = set(d.call("list", name="web")["pids"])
    reply = d.call("set", name="web", options={"cmd": f"{PY} -c 'import sys; sys.exit(3)'"}, waiting=True)
    assert reply["status"] == "error" and "exited with code 3" in reply["reason"]
    assert d.call("get", name="web", keys=["cmd"])["options"]["cmd"] == good_cmd
    assert set(d.call("list", name="web")["pids"]) == before


def test_max_surge_starts_several_at_once(circusd, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    d = circusd(ini(tmp_path, numprocesses=4, extra="max_surge = 4"))
    port = port_of(d)
    wait_until(lambda: get(port)[0] == 200 and len(d.call("list", name="web")["pids"]) == 4, 15, "4 workers")
    events = EventCollector(d.pubsub_endpoint)
    try:
        timeouts = iter(range(20, 99))
        events.wait_subscribed(
            lambda: d.call("set", name="web", options={"graceful_timeout": next(timeouts)}, waiting=True),
            "web",
            "updated",
        )
        assert d.call("reload", name="web", waiting=True)["status"] == "ok"
        first = next(e.payload for e in events.named("web", "reload") if "new" in e.payload)
        assert first["new"] == 4 and first["old"] == 4
    finally:
        events.close()


def test_a_rolled_back_reload_restores_the_flapping_rule_and_its_count(circusd):
    """A reloadconfig changing flapping.attempts together with a broken cmd: the reload rolls back, and
    the old rule (2 exits in 10 s pause the watcher) applies again, not the 50 of the new file, with the
    exit counted before the reload still counted."""
    ini = """
        [watcher:sleeper]
        cmd = {cmd}
        warmup_delay = 0.5
        flapping.attempts = {attempts}
        flapping.window = 10
        flapping.retry_in = 5
    """
    d = circusd(ini.format(cmd="sleep 1000", attempts=2))

    def kill_one() -> None:  # an exit the daemon did not ask for
        (pid,) = wait_until(lambda: d.call("list", name="sleeper")["pids"], 10, "a live process")
        d.call("signal", name="sleeper", signum=signal.SIGKILL)
        wait_until(lambda: pid not in d.call("list", name="sleeper")["pids"], 10, f"pid {pid} gone")

    kill_one()
    d.ini_path.write_text(textwrap.dedent(ini.format(cmd="false", attempts=50)))
    reply = d.call("reloadconfig", waiting=True)
    assert reply["status"] == "error" and "rolled back" in reply["reason"], reply
    assert "flapping" not in d.log()
    kill_one()
    d.wait_log(r"sleeper is flapping: 2 exits within 10s")
