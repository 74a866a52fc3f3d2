"""Listener figures are the kernel's and `accepted` is a true count: N real connections make N, whether
they lived for a microsecond between two samples or are still open; queued ones are not accepted yet."""

from __future__ import annotations

import contextlib
import socket
import sys

import pytest

from circus_web_stack.runtime.stats.sockdiag import Listener, ListenerProbe
from circus_web_stack.testing.waiting import wait_until

from .conftest import stats_endpoint


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    probe = ListenerProbe(
        [Listener.from_info({"fd": sock.fileno(), "host": "127.0.0.1", "port": sock.getsockname()[1]})]
    )
    yield sock, probe
    probe.close()
    sock.close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def test_short_open_and_queued_connections(listener):
    sock, probe = listener
    port = sock.getsockname()[1]
    before = connect(port)
    held_before, _ = sock.accept()
    first = probe.figures()[sock.fileno()]
    assert (first.accepted, first.connections, first.queue, first.backlog) == (0, 1, 0, 16)
    for _ in range(40):  # opened, accepted and closed long before the next sample
        client = connect(port)
        served, _ = sock.accept()
        served.close()
        client.close()
    kept = []
    for _ in range(3):
        client = connect(port)
        kept.append((client, sock.accept()[0]))
    queued = [connect(port) for _ in range(2)]
    wait_until(lambda: probe.figures()[sock.fileno()].queue == 2, 5, "two connections in the accept queue")
    now = probe.figures()[sock.fileno()]
    assert (now.accepted, now.connections, now.queue, now.dropped) == (43, 4, 2, 0)
    for client, served in kept:
        served.close()
        client.close()
    for client in (*queued, before, held_before):
        client.close()
    after = wait_until(
        lambda: (lambda f: f if f.connections == 0 else None)(probe.figures()[sock.fileno()]), 5
    )
    assert after.accepted == 43  # closing the queued ones accepted nothing; the baseline one stays out
    assert after.accepted_last == 0


def test_a_full_accept_queue_drops_connections():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    probe = ListenerProbe([Listener.from_info({"fd": sock.fileno(), "host": "127.0.0.1", "port": port})])
    clients = []
    try:
        for _ in range(6):
            client = socket.socket()
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect(("127.0.0.1", port))
            clients.append(client)
        figures = wait_until(lambda: (lambda f: f if f.dropped else None)(probe.figures()[sock.fileno()]), 5)
        assert figures.queue == 2 and figures.backlog == 1  # Linux admits backlog + 1
        assert figures.accepted == 0
    finally:
        for client in clients:
            client.close()
        probe.close()
        sock.close()


def test_unix_listener_queue(tmp_path):
    path = str(tmp_path / "app.sock")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.listen(8)
    probe = ListenerProbe([Listener.from_info({"fd": sock.fileno(), "path": path})])
    clients = []
    try:
        for _ in range(3):
            client = socket.socket(socket.AF_UNIX)
            client.connect(path)
            clients.append(client)
        figures = probe.figures()[sock.fileno()]
        assert (figures.queue, figures.backlog, figures.accepted, figures.dropped) == (3, 8, None, None)
    finally:
        for client in clients:
            client.close()
        probe.close()
        sock.close()


# A worker on the daemon's socket: accept, answer one line, close; forever.
SERVE = """
import socket, sys
listener = socket.socket(fileno=int(sys.argv[1]))
listener.setblocking(True)
while True:
    conn, _ = listener.accept()
    conn.recv(16)
    conn.sendall(b"ok")
    conn.close()
"""


@pytest.mark.slow
def test_the_stream_counts_connections_to_the_daemons_socket(circusd, collect, tmp_path):
    (tmp_path / "serve.py").write_text(SERVE)
    daemon = circusd(f"""
        [circus]
        statsd = true
        stats_interval = 0.3
        [socket:web]
        host = 127.0.0.1
        port = 0
        [watcher:web]
        cmd = {sys.executable} {tmp_path / "serve.py"} $(circus.sockets.web)
        use_sockets = true
    """)
    daemon.wait_children(2)
    (info,) = daemon.call("listsockets")["sockets"]
    topic = f"stat.sockets.{info['fd']}"
    stream = collect(stats_endpoint(daemon))
    stream.wait_topic(topic, check=lambda p: p["accepted"] == 0)
    for _ in range(25):
        with socket.create_connection(("127.0.0.1", info["port"]), timeout=5) as client:
            client.sendall(b"hi")
            assert client.recv(16) == b"ok"
    payload = stream.wait_topic(topic, check=lambda p: p["accepted"] == 25 and p["connections"] == 0)
    assert payload["queue"] == 0 and payload["dropped"] == 0
    reads = [m.payload["reads"] for m in stream.snapshot() if m.topic == topic]
    assert sum(reads) == 25  # Circus's `reads`: connections accepted during each interval
    assert stream.wait_topic("stat.sockets", check=lambda p: p["accepted"] == 25)["queue"] == 0
