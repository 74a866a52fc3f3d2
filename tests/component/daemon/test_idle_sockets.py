"""A socket nobody serves refuses connections (issue 19): closed when every watcher using it is at
rest, listening again, at the same fd, when one starts; never during restarts, reloads or pauses."""

from __future__ import annotations

import os
import socket
import time

import psutil
import pytest

from circus_web_stack.testing.waiting import wait_until
from tests.component.daemon.test_sockets import ECHO_SERVER, PY, bound_address

# Holds the inherited socket and never accepts: a connection stays in the backlog.
HOLDER = "import sys, time; time.sleep(1000)"


def connect(address, timeout: float = 5.0) -> socket.socket:
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    conn = socket.socket(family)
    conn.settimeout(timeout)
    try:
        conn.connect(address)
    except BaseException:
        conn.close()
        raise
    return conn


def refused_at_once(address) -> float:
    """Seconds a connect took to be refused (fails if it was accepted)."""
    began = time.monotonic()
    with pytest.raises((ConnectionRefusedError, FileNotFoundError)):
        connect(address, timeout=5).close()
    return time.monotonic() - began


def greeting(address) -> str:
    with connect(address, timeout=10) as conn:
        return conn.makefile().readline()


def socket_inode(pid: int, fd: int) -> str:
    return os.readlink(f"/proc/{pid}/fd/{fd}")


def web_daemon(circusd, cmd: str, *, socket_section: str = "host = 127.0.0.1\nport = 0", extra: str = ""):
    """circusd with [socket:web] and a watcher web running `cmd` on it."""
    socket_section = socket_section.replace("\n", "\n        ")  # one indentation, for dedent
    extra = extra.replace("\n", "\n        ")
    return circusd(f"""
        [socket:web]
        {socket_section}
        [watcher:web]
        cmd = {cmd} $(circus.sockets.web) $(circus.wid)
        use_sockets = true
        {extra}
    """)


def echo_daemon(circusd, tmp_path, socket_section: str = "host = 127.0.0.1\nport = 0", *, extra: str = ""):
    (tmp_path / "echo.py").write_text(ECHO_SERVER)
    cmd = f"{PY} {tmp_path / 'echo.py'}"
    return web_daemon(circusd, cmd, socket_section=socket_section, extra=extra)


def tcp_address(d) -> tuple[str, tuple[str, int], int]:
    """web's address as logged, as a (host, port) pair, and its fd in the daemon."""
    addr, fd = bound_address(d, "web")
    host, port = addr.rsplit(":", 1)
    return addr, (host, int(port)), fd


def test_stop_refuses_at_once_and_start_listens_again_on_the_same_description(circusd, tmp_path):
    d = echo_daemon(circusd, tmp_path, "host = 127.0.0.1\nport = 0")  # port 0: bound again on reopen
    addr, address, fd = tcp_address(d)
    assert greeting(address).startswith("hello from wid 1")
    inode = socket_inode(d.pid, fd)
    assert d.call("stop", name="web", waiting=True)["status"] == "ok"
    assert refused_at_once(address) < 0.5
    d.wait_log(rf"socket web {addr} stops listening: no watcher of it is running \(web stopped\)")
    assert socket_inode(d.pid, fd) == inode  # the daemon still holds it, as it was
    assert d.call("start", name="web", waiting=True)["status"] == "ok"
    d.wait_log(rf"socket web {addr} listens again \(fd {fd}\): web starting")
    assert greeting(address) == f"hello from wid 1 pid {d.children('echo.py')[0].pid} fd {fd}\n"
    assert socket_inode(d.pid, fd) == inode
    assert d.log().count("stops listening") == 1


def test_a_connection_waiting_in_the_backlog_is_reset_not_left_hanging(circusd, tmp_path):
    d = web_daemon(circusd, f'{PY} -c "{HOLDER}"')
    _, address, _ = tcp_address(d)
    d.wait_children(1)
    waiting = connect(address)  # the kernel completes it into the backlog; nobody accepts
    with waiting:
        assert d.call("stop", name="web", waiting=True)["status"] == "ok"
        began = time.monotonic()
        with pytest.raises(ConnectionResetError):
            waiting.recv(1)
        assert time.monotonic() - began < 0.5


def test_unix_socket_is_removed_and_bound_again_at_the_same_fd(circusd, tmp_path):
    path = tmp_path / "web.sock"
    d = echo_daemon(circusd, tmp_path, f"path = {path}\numask = 077", extra="graceful_timeout = 0.5")
    _, fd = bound_address(d, "web")
    (worker,) = d.wait_children(1, "echo.py")
    worker.suspend()  # stopped (not in an accept() that would complete), it accepts nothing
    wait_until(lambda: worker.status() == psutil.STATUS_STOPPED, 10, "the worker stopped")
    queued = connect(str(path))
    with queued:
        assert d.call("stop", name="web", waiting=True)["status"] == "ok"
        with pytest.raises(ConnectionResetError):
            queued.recv(1)
    assert not path.exists()
    assert refused_at_once(str(path)) < 0.5
    assert d.call("start", name="web", waiting=True)["status"] == "ok"
    assert oct(path.stat().st_mode & 0o777) == oct(0o700)  # its umask, as configured
    assert greeting(str(path)).endswith(f"fd {fd}\n")


def test_giving_up_after_flapping_closes_it_and_a_pause_does_not(circusd, tmp_path):
    flapping = "flapping.attempts = 2\nflapping.window = 10\nflapping.retry_in = 1.5\nflapping.max_retry = 1"
    d = web_daemon(circusd, f'{PY} -c "import sys; sys.exit(3)"', extra=flapping)
    addr, address, _ = tcp_address(d)
    d.wait_log(r"web is flapping: .* pausing")
    assert "stops listening" not in d.log()
    connect(address).close()  # paused, it will retry: the kernel still queues
    d.wait_log(r"web: giving up")
    d.wait_log(rf"socket web {addr} stops listening: no watcher of it is running \(web given up\)")
    assert refused_at_once(address) < 0.5


def test_restart_reload_and_scaling_keep_it_listening(circusd, tmp_path):
    d = echo_daemon(circusd, tmp_path, extra="numprocesses = 2")
    _, address, _ = tcp_address(d)
    d.wait_children(2, "echo.py")
    for command, props in [
        ("restart", {"name": "web", "waiting": True}),
        ("reload", {"name": "web", "waiting": True}),
        ("decr", {"name": "web", "nb": 2, "waiting": True}),
        ("incr", {"name": "web", "nb": 1, "waiting": True}),
        ("restart", {"waiting": True}),  # every watcher stopped, then started
    ]:
        pending = d.call_in_background(command, **props)
        for _ in range(500):  # bounded: well under the backlog
            if pending.answered():
                break
            connect(address).close()  # never refused: queued until a worker accepts
            time.sleep(0.005)  # pacing, not synchronisation
        assert pending.reply()["status"] == "ok", command
    assert "stops listening" not in d.log()
    assert greeting(address).startswith("hello from wid")


def test_a_watcher_not_started_with_the_daemon_leaves_its_socket_refusing(circusd, tmp_path):
    d = echo_daemon(circusd, tmp_path, extra="autostart = false")
    addr, address, fd = tcp_address(d)
    d.wait_log(rf"socket web {addr} stops listening")
    assert refused_at_once(address) < 0.5
    assert d.call("start", name="web", waiting=True)["status"] == "ok"
    assert greeting(address).endswith(f"fd {fd}\n")


def test_close_when_idle_off_keeps_the_old_behaviour(circusd, tmp_path):
    d = echo_daemon(circusd, tmp_path, "host = 127.0.0.1\nport = 0\nclose_when_idle = false")
    _, address, _ = tcp_address(d)
    d.wait_children(1, "echo.py")
    assert d.call("stop", name="web", waiting=True)["status"] == "ok"
    with connect(address):  # queued by the kernel, as in Circus
        pass
    assert "stops listening" not in d.log()


def test_a_start_whose_address_was_taken_meanwhile_fails_naming_it(circusd, tmp_path):
    d = echo_daemon(circusd, tmp_path, "host = 127.0.0.1\nport = 0")
    addr, address, _ = tcp_address(d)
    d.wait_children(1, "echo.py")
    assert d.call("stop", name="web", waiting=True)["status"] == "ok"
    d.wait_log("stops listening")
    thief = socket.socket()
    thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with thief:
        thief.bind(address)
        thief.listen()
        reply = d.call("start", name="web", waiting=True)
        assert reply["status"] == "error"
        assert f"socket web cannot listen again on {addr}: Address already in use" in reply["reason"]
        assert d.children("echo.py") == []
    assert d.call("start", name="web", waiting=True)["status"] == "ok"
    wait_until(lambda: greeting(address).startswith("hello"), 10, "web served again")
