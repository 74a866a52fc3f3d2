"""chaussette's request figures, sent for real: to a statsd UDP listener made here (gunicorn's
--statsd-host and --statsd-prefix), and to a NOTIFY_SOCKET as circusd reads them (decoded with the
daemon's own reader), from the gevent backend and from a threaded one (waitress)."""

from __future__ import annotations

import socket
import time

import pytest

from circus_web_stack.protocol.request_metrics import FIELD, decode_totals

from .harness import APPS, get, run_chaussette


class StatsdListener:
    """A statsd server's socket: collects `name:value|type` lines until told to stop."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self.datagrams = 0

    def collect_until(self, done, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done(self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"statsd got only {self.lines}")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            assert len(data) <= 1432, "a datagram must fit one Ethernet frame"
            self.datagrams += 1
            self.lines += data.decode().split("\n")

    def counters(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.lines:
            name, _, rest = line.partition(":")
            value, _, kind = rest.partition("|")
            if kind == "c":
                totals[name] = totals.get(name, 0) + int(value)
        return totals

    def timings(self, name: str) -> list[float]:
        return [float(line.split(":")[1].split("|")[0]) for line in self.lines if line.startswith(name + ":")]


@pytest.fixture
def statsd():
    listener = StatsdListener()
    yield listener
    listener.sock.close()


def _requests(port: int) -> None:
    for _ in range(5):
        assert get(port, "/").status == 200
    assert get(port, "/?status=404").status == 404
    assert get(port, "/?status=302").status == 302
    assert get(port, "/?fail=1").status == 500


@pytest.mark.parametrize("backend", ["gevent", "waitress"])
def test_statsd_gets_gunicorns_names_with_the_prefix(start_worker, statsd, backend):
    worker = start_worker(
        f"{APPS}.with_status",
        "--statsd-host",
        f"127.0.0.1:{statsd.port}",
        "--statsd-prefix",
        "shop.web",
        backend=backend,
    )
    _requests(worker.port)
    statsd.collect_until(lambda lines: "shop.web.chaussette.request.status.500:1|c" in "\n".join(lines), 10)
    base = "shop.web.chaussette."
    counters = statsd.counters()
    assert counters[base + "requests"] == 8
    assert counters[base + "request.status.200"] == 5
    assert counters[base + "request.status.404"] == 1
    assert counters[base + "request.status.302"] == 1
    assert counters[base + "request.class.2xx"] == 5
    assert counters[base + "request.class.3xx"] == 1
    assert counters[base + "request.class.4xx"] == 1
    assert counters[base + "request.class.5xx"] == 1
    durations = statsd.timings(base + "request.duration")
    assert len(durations) == 8 and all(0 <= ms < 5000 for ms in durations)
    assert all(line.startswith(base) for line in statsd.lines), statsd.lines


def test_request_metrics_go_to_notify_socket_as_totals(start_worker, statsd):
    worker = start_worker(f"{APPS}.with_status", "--request-metrics")
    _requests(worker.port)
    deadline = time.monotonic() + 10
    totals = None
    while totals is None or sum(totals.statuses.values()) < 8:
        assert time.monotonic() < deadline, f"no complete report; got {worker.notify.messages}"
        worker.notify.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            message = worker.notify.sock.recv(4096).decode()
        except TimeoutError:
            continue
        key, _, value = message.partition("=")
        if key == FIELD:
            totals = decode_totals(value)
    assert totals.statuses == {"2xx": 5, "3xx": 1, "4xx": 1, "5xx": 1}
    assert sum(totals.buckets) == 8 and totals.sum_s > 0
    # a graceful stop sends the last figures again (totals: the same numbers), and nothing is lost
    worker.signal(15)
    assert worker.wait_exit(10) == 0


def test_statsd_prefix_without_host_is_said_to_have_no_effect():
    done = run_chaussette("--statsd-prefix", "x", "--port", "0", "no_such_module_here:app")
    assert "--statsd-prefix has no effect without --statsd-host" in done.stderr


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("host:99999", "the port must be 1-65535"),
        ("unix://", "expected unix:///path"),
        (":80", "expected HOST:PORT"),
    ],
)
def test_a_bad_statsd_host_is_refused_before_starting(value, error):
    done = run_chaussette("--statsd-host", value)
    assert done.returncode != 0 and f"--statsd-host {value!r}: {error}" in done.stderr
