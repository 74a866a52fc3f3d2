"""Behind the real nginx with two upstreams (two sockets, two watchers of one circusd): `stop web1`
while clients run makes web1's socket refuse, nginx fails over to web2 at once, no request fails or
waits for a timeout; `start web1` brings it back into rotation (issue 19)."""

from __future__ import annotations

import re
import textwrap

from circus_web_stack.testing.waiting import wait_until
from tests.component.chaussette.harness import CHAUSSETTE
from tests.e2e.clients import Browser, LoadRun
from tests.e2e.nginx import Nginx

APP = """
import os

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{os.environ['BACKEND']} pid {os.getpid()}".encode()]
"""


def site(port: int, upstreams: list[int]) -> str:
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;" for p in upstreams)
    return textwrap.dedent("""\
        upstream backends {{
        {servers}
        }}
        server {{
            listen 127.0.0.1:{port};
            location / {{
                proxy_pass http://backends;
                proxy_next_upstream error timeout;
                proxy_connect_timeout 3s;
                proxy_read_timeout 5s;
            }}
        }}
        """).format(servers=servers.strip(), port=port)


def refusals(nginx: Nginx, port: int) -> list[str]:
    return re.findall(
        rf"connect\(\) failed \(111: Connection refused\).*127\.0\.0\.1:{port}", nginx.error_log()
    )


def watcher(name: str, tmp_path) -> str:
    return f"""
        [socket:{name}]
        host = 127.0.0.1
        port = 0
        [watcher:{name}]
        cmd = {" ".join(CHAUSSETTE)} --fd $(circus.sockets.{name}) --log-level warning app:app
        use_sockets = true
        copy_env = true
        working_dir = {tmp_path}
        numprocesses = 2
        graceful_timeout = 5
        [env:{name}]
        BACKEND = {name}
    """


def test_stopping_one_backend_fails_over_at_once_and_start_brings_it_back(circusd, tmp_path, nginx_binary):
    (tmp_path / "app.py").write_text(APP)
    d = circusd(watcher("web1", tmp_path) + watcher("web2", tmp_path))
    ports = [int(d.wait_log(rf"bound socket {n} on 127\.0\.0\.1:(\d+)")[1]) for n in ("web1", "web2")]
    d.wait_children(4, "chaussette")
    nginx = Nginx(nginx_binary, tmp_path / "nginx").start_site(lambda port: site(port, ports))
    served_by: dict[str, set[int]] = {"web1": set(), "web2": set()}
    try:
        probe = Browser("127.0.0.1", nginx.port, keepalive=False)

        def seen(backend: str) -> bool:
            body = probe.get("/").body
            name, _, pid = body.split()
            served_by[name].add(int(pid))
            return name == backend

        wait_until(lambda: seen("web1"), 10, "nginx reaching web1")
        load = LoadRun(
            lambda keepalive: Browser("127.0.0.1", nginx.port, keepalive=keepalive),
            clients=6,
            keepalive=3,
            rate=25,
            duration_s=60,
        ).start()
        try:
            wait_until(lambda: load.successes() >= 50, 20, "the load under way")
            assert d.call("stop", name="web1", waiting=True)["status"] == "ok"
            before = load.successes()
            # nginx tries web1 again after fail_timeout: refused at once, it goes on to web2
            wait_until(
                lambda: refusals(nginx, ports[0]), 10, f"nginx refused by web1\n{nginx.error_log()[-2000:]}"
            )
            wait_until(lambda: load.successes() >= before + 50, 20, "the load served by web2 alone")
            assert d.call("start", name="web1", waiting=True)["status"] == "ok"
            web1_pids = set(d.call("list", name="web1")["pids"])
            wait_until(lambda: seen("web1"), 10, "web1 back in rotation")
            before = load.successes()
            wait_until(lambda: load.successes() >= before + 50, 20, "the load with web1 back")
        finally:
            report = load.stop()
        assert report.failed == 0, report.summary()
        # Below proxy_connect_timeout: nobody waited for a timeout (it took seconds before, 60 s by default).
        assert report.max_latency_s < 2.5, report.summary()
        assert served_by["web1"] & web1_pids, "web1's new workers served"
        assert "timed out" not in nginx.error_log()
    finally:
        nginx.stop()
