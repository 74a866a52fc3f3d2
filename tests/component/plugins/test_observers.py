"""CommandReloader, HttpObserver and RedisObserver against real counterparts: a program file replaced
on PATH, a real HTTP server, a real redis-server from the OS packages."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading

import pytest

from circus_web_stack.client.daemon import iter_events
from circus_web_stack.testing.os_packages import ensure_installed
from circus_web_stack.testing.waiting import wait_until
from tests.component.plugins.udp import UdpListener

PY = sys.executable


def test_command_reloader_rolls_a_watcher_whose_program_on_path_changed(circusd, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "serve-app"
    program.write_text(f"#!{PY}\nimport time\ntime.sleep(1000)\n")
    program.chmod(0o755)
    d = circusd(
        """
        [watcher:app]
        cmd = serve-app --port 1
        numprocesses = 2
        copy_env = true
        [plugin:reloader]
        use = circus.plugins.command_reloader.CommandReloader
        loop_rate = 0.2
        """,
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )
    wait_until(lambda: f"app: watching {program}" in d.stderr(), 15, "the plugin's first look")
    before = set(
        wait_until(lambda: (lambda p: p if len(p) == 2 else None)(d.call("list", name="app")["pids"]), 10)
    )
    events = iter_events(d.pubsub_endpoint, ("watcher.app.",), timeout=20)
    replacement = tmp_path / "serve-app.new"
    shutil.copy(program, replacement)
    os.utime(replacement, ns=(1, 1))  # another mtime, as a deploy gives
    os.replace(replacement, program)
    assert next(e for e in events if e.name == "reload").watcher == "app"  # a rolling reload, not restart
    wait_until(
        lambda: (lambda now: len(now) == 2 and not now & before)(set(d.call("list", name="app")["pids"])),
        15,
        "two new processes in place of the old",
    )
    assert "app: " in d.stderr() and "reloading it (graceful)" in d.stderr()
    log = d.log()
    assert log.index("spawned app#3") < log.index("stopping app#1")  # new process before the old stops


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def test_http_observer_times_a_healthy_url_and_restarts_on_error(circusd):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with UdpListener() as statsd:
            d = circusd(f"""
                [watcher:web]
                cmd = {PY} -c 'import time; time.sleep(1000)'
                [plugin:http]
                use = circus.plugins.http_observer.HttpObserver
                check_url = http://127.0.0.1:{server.server_port}/health
                timeout = 2
                loop_rate = 0.2
                restart_on_error = web
                host = 127.0.0.1
                port = {statsd.port}
            """)
            statsd.wait_line(
                lambda line: line.startswith("circus.http_observer.watcher.http_stats.request_time:")
            )
            assert all(line.endswith("|ms") for line in statsd.lines)
            (first,) = d.call("list", name="web")["pids"]
            _Health.status = 503
            statsd.wait_line(lambda line: line == "circus.http_observer.watcher.http_stats.error.503:1|c")
            statsd.wait_line(
                lambda line: line == "circus.http_observer.watcher.http_stats.restart_on_error:1|c"
            )
            wait_until(lambda: first not in d.call("list", name="web")["pids"], 10, "web restarted")
    finally:
        _Health.status = 200
        server.shutdown()
        server.server_close()


@pytest.fixture
def redis_server(tmp_path):
    path, why = ensure_installed(["redis-server"], lambda: shutil.which("redis-server"))
    if path is None:
        pytest.skip(why)
    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen(
        [path, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(sock.exists, 10, "redis-server's socket")
        yield proc, sock
    finally:
        proc.terminate()
        proc.wait(10)


def test_redis_observer_gauges_info_and_restarts_when_redis_is_gone(circusd, redis_server):
    proc, sock = redis_server
    with UdpListener() as statsd:
        d = circusd(f"""
            [watcher:worker]
            cmd = {PY} -c 'import time; time.sleep(1000)'
            [plugin:redis]
            use = circus.plugins.redis_observer.RedisObserver
            redis_url = unix://{sock}
            timeout = 1
            loop_rate = 0.2
            restart_on_timeout = worker
            host = 127.0.0.1
            port = {statsd.port}
        """)
        prefix = "circus.redis_observer.watcher.redis_stats."
        statsd.wait_line(lambda line: line.startswith(prefix + "connected_clients:") and line.endswith("|g"))
        statsd.wait_line(lambda line: line.startswith(prefix + "used_memory:"))
        (first,) = d.call("list", name="worker")["pids"]
        proc.terminate()
        proc.wait(10)
        statsd.wait_line(lambda line: line == prefix + "error:1|c")
        statsd.wait_line(lambda line: line == prefix + "restart_on_error:1|c")
        wait_until(lambda: first not in d.call("list", name="worker")["pids"], 10, "worker restarted")
