"""circus-top driven in a real terminal (tmux): it shows a live daemon's watchers, processes and socket,
sorts and filters on keys, follows a resize, quits cleanly on q and Ctrl-C, and says when the stats
endpoint cannot be reached."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Iterator

import pytest
import zmq
import zmq.auth

from circus_web_stack.client.daemon import load_curve_keys
from circus_web_stack.testing.curve import make_curve_files
from circus_web_stack.testing.terminal import Terminal
from circus_web_stack.testing.waiting import wait_until

from .conftest import stats_endpoint

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def terminal(tmp_path) -> Iterator:
    opened: list[Terminal] = []

    def open_terminal(*args: str, width: int = 120, height: int = 30) -> Terminal:
        term = Terminal(tmp_path, [sys.executable, "-m", "circus_web_stack.cli.top", *args], width, height)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


INI = """
    [circus]
    statsd = true
    stats_interval = 0.3
    [socket:web]
    host = 127.0.0.1
    port = 0
    [watcher:web]
    cmd = sleep 1000
    numprocesses = 3
    [watcher:worker]
    cmd = sleep 1001
"""


@pytest.mark.slow
def test_top_shows_sorts_filters_resizes_and_quits(circusd, terminal, tmp_path):
    daemon = circusd(INI)
    daemon.wait_children(5)
    web = daemon.call("list", name="web")["pids"]
    term = terminal("--endpoint", stats_endpoint(daemon))
    screen = term.wait_screen("web (3)")
    for pid in web:
        term.wait_screen(f"  {pid} ")
    assert "worker (1)" in screen and "sorted by CPU, all watchers" in screen
    (sock,) = daemon.call("listsockets")["sockets"]
    assert f"127.0.0.1:{sock['port']}" in screen and f"circusd pid {daemon.pid}" in screen
    term.keys("m")
    term.wait_screen("sorted by memory")
    term.keys("w")
    filtered = term.wait_screen("sorted by memory, web")
    assert "worker (1)" not in filtered
    term.keys("a")
    term.wait_screen("sorted by memory, all watchers")
    term.resize(60, 12)
    small = wait_until(
        lambda: (lambda s: s if max(map(len, s.splitlines())) <= 60 and "q quit" in s else None)(
            term.screen()
        ),
        10,
        "the screen redrawn for 60x12",
    )
    assert len(small.rstrip("\n").splitlines()) <= 12
    term.keys("q")
    assert term.wait_exit() == 0
    assert "circus-top: quit" in (tmp_path / "stderr").read_text()


@pytest.mark.slow
def test_ctrl_c_quits_and_a_missing_endpoint_is_explained(terminal, tmp_path):
    missing = tmp_path / "nowhere" / "stats.sock"
    term = terminal("--endpoint", f"ipc://{missing}")
    screen = term.wait_screen("cannot reach the stats endpoint")
    assert str(missing) in screen.replace("\n", "")
    term.keys("C-c")
    assert term.wait_exit() == 0
    assert "circus-top: interrupted" in (tmp_path / "stderr").read_text()


@pytest.mark.slow
def test_circus_own_circus_top_reads_our_stream(circusd, tmp_path, circus_peer):
    circus_top = circus_peer / "circus-top"
    daemon = circusd(INI)
    daemon.wait_children(5)
    term = Terminal(tmp_path, [str(circus_top), "--endpoint", stats_endpoint(daemon)])
    try:
        screen = term.wait_screen("(circusd-stats)")
        for pid in daemon.call("list", name="web")["pids"]:
            screen = term.wait_screen(f"{pid}")
        assert "worker" in screen and "sockets" in screen and "(circusd)" in screen
        (sock,) = daemon.call("listsockets")["sockets"]
        assert f"127.0.0.1:{sock['port']}" in screen
    finally:
        term.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _subscriber(endpoint: str, server_public: str, client_secret: str | None) -> zmq.Socket:
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.linger = 0
    if client_secret is not None:
        keys = load_curve_keys(server_public, client_secret)
        sock.curve_serverkey = keys.server_public
        sock.curve_publickey = keys.client_public
        sock.curve_secretkey = keys.client_secret
    sock.subscribe(b"stat.")
    sock.connect(endpoint)
    return sock


def test_over_curve_the_stats_reach_only_admitted_keys_and_circus_top_reads_them(circusd, terminal, tmp_path):
    """With curve_client_keys_dir the stats endpoint admits the same client keys as the daemon's own
    endpoints (circusd-stats runs pyzmq's ZAP handler); circus-top takes circusctl's key options."""
    keys = make_curve_files(tmp_path)
    server_public, server_secret, allowed = keys.server_public, keys.server_secret, keys.allowed
    client_secret, stranger_secret = keys.client_secret, keys.stranger_secret
    control, pubsub, stats = (free_port() for _ in range(3))
    daemon = circusd(f"""
        [circus]
        endpoint = tcp://127.0.0.1:{control}
        pubsub_endpoint = tcp://127.0.0.1:{pubsub}
        stats_endpoint = tcp://127.0.0.1:{stats}
        curve_secret_key_file = {server_secret}
        curve_client_keys_dir = {allowed}
        statsd = true
        stats_interval = 0.2
        [watcher:web]
        cmd = sleep 1000
    """)
    daemon.wait_children(2)
    endpoint = f"tcp://127.0.0.1:{stats}"
    admitted = _subscriber(endpoint, server_public, client_secret)
    stranger = _subscriber(endpoint, server_public, stranger_secret)
    plain = _subscriber(endpoint, server_public, None)
    try:
        assert admitted.poll(15_000), "no statistics reached the admitted key"
        admitted.recv_multipart()
        # The admitted key has been receiving; the others were connecting all that time. 2 s more is
        # 10 intervals: a stranger let in would have had one by then.
        assert not stranger.poll(2_000) and not plain.poll(0)
    finally:
        for sock in (admitted, stranger, plain):
            sock.close()
    term = terminal(
        "--endpoint", endpoint, "--curve-server-key", server_public, "--curve-client-key", client_secret
    )
    term.wait_screen("web (1)", timeout=15)
    term.keys("q")
    assert term.wait_exit() == 0
