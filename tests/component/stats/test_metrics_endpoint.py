"""circusd's /metrics, scraped over real HTTP and read with prometheus_client's own parser, checked
against what really happened: a worker SIGKILLed (its restart counted with its cause, its slot's
counters carried on by its replacement), a program exiting 3, a flapping watcher, a rolling reload,
commands, connections waiting in a socket's accept queue, and chaussette's request reports."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from circus_web_stack.cli.exit_codes import EXIT_BIND
from circus_web_stack.testing.waiting import wait_until

CHAUSSETTE = f"{sys.executable} -m chaussette_compat"
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class Scrape:
    def __init__(self, port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/metrics")
            response = conn.getresponse()
            assert response.status == 200, response.read()
            self.text = response.read().decode()
        finally:
            conn.close()
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}
        self.samples = {
            (s.name, frozenset(s.labels.items())): s.value for f in self.families.values() for s in f.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float:
        """The sum over every series of `name` whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)


def scraper(port: int):
    return lambda: Scrape(port)


def scrape_until(scrape, holds, timeout: float, what: str) -> Scrape:
    """The first scrape for which `holds(scrape)` is true."""

    def attempt() -> Scrape | None:
        s = scrape()
        return s if holds(s) else None

    return wait_until(attempt, timeout, what)


def start_daemon(circusd, tmp_path):
    d = circusd(
        f"""
        [circus]
        metrics_endpoint = 127.0.0.1:0
        [socket:web]
        host = 127.0.0.1
        port = 0
        [socket:held]
        host = 127.0.0.1
        port = 0
        backlog = 7
        [watcher:web]
        cmd = {CHAUSSETTE} --fd $(circus.sockets.web) --request-metrics
        use_sockets = true
        numprocesses = 2
        readiness = notify
        [watcher:exiter]
        cmd = {sys.executable} -c "import time, sys; time.sleep(0.5); sys.exit(3)"
        flapping.attempts = 100
        [watcher:flappy]
        cmd = false
        flapping.attempts = 2
        flapping.window = 10
        flapping.retry_in = 60
        """,
        workdir=tmp_path,
        env={"PYTHONPATH": os.getcwd()},
    )
    port = int(d.wait_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")[1])
    return d, scraper(port)


def ports(d) -> dict[str, int]:
    return {s["name"]: s["port"] for s in d.call("listsockets")["sockets"]}


def web_processes(d) -> dict[int, int]:
    return {p["wid"]: p["pid"] for p in d.call("processes", name="web")["processes"]}


def test_metrics_follow_what_happens(circusd, tmp_path):
    d, scrape = start_daemon(circusd, tmp_path)
    wait_until(lambda: scrape().value("circus_watcher_ready_processes", watcher="web") == 2, 20, "web ready")
    first = scrape()

    # names follow Prometheus's conventions; no series is labelled by pid
    ours = [f for f in first.families.values() if f.name.startswith("circus_")]
    assert {f.name for f in ours} >= {
        "circus_process_cpu_seconds",
        "circus_process_resident_memory_bytes",
        "circus_process_state",
        "circus_process_ready",
        "circus_watcher_state",
        "circus_socket_accept_queue",
        "circus_socket_backlog",
        "circus_commands",
        "circus_command_duration_seconds",
    }
    for family in ours:
        assert NAME.match(family.name), family.name
        for sample in family.samples:
            assert "pid" not in sample.labels, sample
            if family.type == "counter":
                assert sample.name.endswith(("_total", "_created")), sample.name
    assert first.value("circus_process_ready", watcher="web", wid="1") == 1
    assert first.value("circus_process_state", watcher="web", wid="1", state="running") == 1
    assert first.value("circus_watcher_state", watcher="web", state="running") == 1
    assert first.value("circus_process_resident_memory_bytes", watcher="web", wid="1") > 1_000_000
    assert first.value("process_resident_memory_bytes") > 0, "circusd's own figures"

    # an exit status and a flapping pause, counted with their causes
    scrape_until(
        scrape,
        lambda s: s.value("circus_process_restarts_total", watcher="exiter", wid="1", cause="exit", code="3"),
        15,
        "the exit status 3 counted",
    )
    flapped = scrape_until(
        scrape,
        lambda s: s.value("circus_watcher_flapping_total", watcher="flappy", outcome="paused"),
        15,
        "flappy paused",
    )
    assert flapped.value("circus_watcher_state", watcher="flappy", state="paused") == 1

    # requests counted by the workers, reported to the daemon
    for _ in range(6):
        conn = http.client.HTTPConnection("127.0.0.1", ports(d)["web"], timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
    served = scrape_until(
        scrape,
        lambda s: s.total("circus_http_requests_total", watcher="web", status_class="2xx") == 6,
        10,
        "6 requests reported",
    )
    assert served.total("circus_http_request_duration_seconds_count", watcher="web") == 6
    assert served.value("circus_socket_accepted_connections_total", socket="web") == 6
    before = {
        wid: served.value("circus_process_cpu_seconds_total", watcher="web", wid=wid) for wid in ("1", "2")
    }
    by_wid = {wid: served.total("circus_http_requests_total", watcher="web", wid=wid) for wid in ("1", "2")}

    # SIGKILL a worker: its restart is counted with its cause, its slot goes on from where it was
    pids = web_processes(d)
    os.kill(pids[1], signal.SIGKILL)
    after = scrape_until(
        scrape,
        lambda s: (
            s.value("circus_process_restarts_total", watcher="web", wid="1", cause="signal", code="SIGKILL")
            == 1
            and s.value("circus_process_ready", watcher="web", wid="1") == 1
        ),
        20,
        "the SIGKILL counted and wid 1 ready again",
    )
    assert web_processes(d)[1] != pids[1]
    assert after.value("circus_process_cpu_seconds_total", watcher="web", wid="1") >= before["1"]
    assert after.total("circus_http_requests_total", watcher="web", wid="1") == by_wid["1"]
    assert after.total("circus_http_requests_total", watcher="web") == 6

    # a rolling reload: counted, with its duration
    assert d.call("reload", name="web", waiting=True)["status"] == "ok"
    reloaded = scrape_until(
        scrape,
        lambda s: s.value("circus_watcher_reloads_total", watcher="web", outcome="done") == 1,
        10,
        "the reload counted",
    )
    assert reloaded.value("circus_watcher_reload_duration_seconds_count", watcher="web") == 1
    assert 0 < reloaded.value("circus_watcher_reload_duration_seconds_sum", watcher="web") < 30
    assert reloaded.total("circus_http_requests_total", watcher="web") == 6, "recycled workers' counts stay"

    # commands: each one counted, its latency observed
    status_ok = reloaded.value("circus_commands_total", command="status", outcome="ok") or 0
    for _ in range(3):
        d.call("status")
    assert d.call("status", name="nosuch")["status"] == "error"
    counted = scrape()
    assert counted.value("circus_commands_total", command="status", outcome="ok") == status_ok + 3
    assert counted.value("circus_commands_total", command="status", outcome="error") == 1
    assert counted.value("circus_command_duration_seconds_count", command="status") == status_ok + 4
    assert counted.value("circus_commands_total", command="reload", outcome="ok") == 1

    # connections nobody accepts wait in the accept queue, up to the backlog
    clients = [socket.create_connection(("127.0.0.1", ports(d)["held"]), timeout=5) for _ in range(3)]
    try:
        queued = scrape_until(
            scrape,
            lambda s: s.value("circus_socket_accept_queue", socket="held") == 3,
            10,
            "3 queued",
        )
        assert queued.value("circus_socket_backlog", socket="held") == 7
    finally:
        for client in clients:
            client.close()


def test_only_metrics_is_served_and_a_malformed_report_is_logged(circusd, tmp_path):
    d = circusd(
        """
        [circus]
        metrics_endpoint = 127.0.0.1:0
        [watcher:sleeper]
        cmd = sleep 60
        """,
        workdir=tmp_path,
    )
    port = int(d.wait_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/other")
    response = conn.getresponse()
    assert response.status == 404 and b"/metrics" in response.read()
    conn.close()

    pid = wait_until(lambda: d.call("list", name="sleeper").get("pids"), 10, "sleeper spawned")[0]
    environ = dict(
        entry.split("=", 1) for entry in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in entry
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(b'X_CIRCUS_REQUESTS={"v": 1}', "\0" + environ["NOTIFY_SOCKET"][1:])
    d.wait_log(r"sent a malformed request report, ignored \(logged once\): X_CIRCUS_REQUESTS: status must")
    assert Scrape(port).value("circus_watcher_processes", watcher="sleeper") == 1


def test_a_metrics_endpoint_in_use_is_a_bind_error_naming_it(circusd, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        d = circusd(f"[circus]\nmetrics_endpoint = 127.0.0.1:{port}\n", workdir=tmp_path)
        assert d.wait_exit() == EXIT_BIND
        assert f"metrics_endpoint 127.0.0.1:{port}: [Errno 98] Address already in use" in d.log()
