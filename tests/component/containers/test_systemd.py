"""circusd under systemd: sockets adopted from socket activation (systemd-socket-activate, the OS's
own tool) and sd_notify for circusd itself on a NOTIFY_SOCKET this test listens on."""

from __future__ import annotations

import shutil
import signal
import socket
import sys
import time

import pytest

from circus_web_stack.testing.harness import Launcher
from circus_web_stack.testing.os_packages import ensure_installed
from circus_web_stack.testing.waiting import wait_until
from tests.e2e.nginx import free_port

SOCKET_ACTIVATE = "systemd-socket-activate"

# Accepts on the inherited fd and answers each connection with its name and what it inherited.
ANSWERER = """
import os, socket, sys
listener = socket.socket(fileno=int(sys.argv[1]))
listener.setblocking(True)
while True:
    conn, _ = listener.accept()
    conn.sendall(f"{sys.argv[2]} LISTEN_FDS={os.environ.get('LISTEN_FDS')}\\n".encode())
    conn.close()
"""

# Says READY=1 to circusd after a moment, as a worker importing its app would.
NOTIFIER = """
import os, socket, time
time.sleep(0.3)
address = os.environ["NOTIFY_SOCKET"]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(b"READY=1", "\\0" + address[1:] if address.startswith("@") else address)
time.sleep(3600)
"""


def install_socket_activate() -> tuple[str | None, str]:
    """systemd-socket-activate, from Debian's `systemd` package when missing."""
    return ensure_installed(["systemd"], lambda: shutil.which(SOCKET_ACTIVATE))


def connected(address) -> socket.socket | None:
    try:
        return socket.create_connection(address, timeout=10)
    except ConnectionRefusedError:
        return None


def ask(connect_to, family=socket.AF_INET) -> str:
    with socket.socket(family, socket.SOCK_STREAM) as conn:
        conn.settimeout(20)
        conn.connect(connect_to)
        return conn.makefile().readline().strip()


def test_sockets_from_socket_activation_are_adopted_not_bound(circusd, tmp_path):
    tool, why = install_socket_activate()
    if tool is None:
        pytest.skip(why)
    answerer = tmp_path / "answer.py"
    answerer.write_text(ANSWERER)
    port = free_port()
    admin_path = tmp_path / "admin.sock"
    launcher = Launcher(
        (
            tool,
            f"--listen=127.0.0.1:{port}",
            f"--listen={admin_path}",
            "--fdname=web:admin-socket",  # the second is matched by its address, not by its name
            *(f"--setenv={name}" for name in ("PATH", "PYTHONUNBUFFERED", "CIRCUS_RUNTIME_DIR")),
        )
    )
    d = circusd(
        f"""
        [socket:web]
        host = 127.0.0.1
        port = {port}
        backlog = 64
        [socket:admin]
        path = {admin_path}
        [socket:private]
        host = 127.0.0.1
        port = 0
        [watcher:web]
        cmd = {sys.executable} {answerer} $(circus.sockets.web) web
        use_sockets = true
        copy_env = true
        [watcher:admin]
        cmd = {sys.executable} {answerer} $(circus.sockets.admin) admin
        use_sockets = true
        copy_env = true
        """,
        launcher=launcher,
    )
    wait_until(admin_path.exists, 10, f"{SOCKET_ACTIVATE} listening on {admin_path}")
    # systemd-socket-activate starts circusd at the first connection, which waits in the kernel's queue
    # until a worker of circusd accepts it: nothing is refused, nothing is bound twice.
    assert ask(("127.0.0.1", port)) == "web LISTEN_FDS=None"
    assert ask(str(admin_path), socket.AF_UNIX) == "admin LISTEN_FDS=None"
    d.wait_log(rf"adopted socket web on 127\.0\.0\.1:{port} \(fd 3\) from systemd")
    d.wait_log(rf"adopted socket admin on {admin_path} \(fd 4\) from systemd")
    d.wait_log(r"bound socket private on 127\.0\.0\.1:\d+")
    d.signal(signal.SIGTERM)
    assert d.wait_exit(30) == 0
    assert admin_path.exists(), "an adopted unix socket's file is systemd's: circusd must not unlink it"


def test_an_activated_socket_no_section_names_is_refused(circusd, tmp_path):
    tool, why = install_socket_activate()
    if tool is None:
        pytest.skip(why)
    port = free_port()
    d = circusd(
        """
        [socket:web]
        host = 127.0.0.1
        port = 0
        [watcher:sleeper]
        cmd = sleep 1000
        """,
        launcher=Launcher((tool, f"--listen=127.0.0.1:{port}", "--fdname=mysite.socket", "--setenv=PATH")),
    )
    conn = wait_until(lambda: connected(("127.0.0.1", port)), 10, f"{SOCKET_ACTIVATE} listening")
    with conn:
        assert d.wait_exit(30) == 71  # EXIT_BIND, before anything started
    assert (
        f"fd 3 (mysite.socket, 127.0.0.1:{port}) matches no [socket:NAME] by name or address; "
        "set FileDescriptorName= to a socket's name"
    ) in d.log()


class NotifyListener:
    """The systemd side of sd_notify: a datagram socket collecting what circusd says."""

    def __init__(self, path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.messages: list[dict[str, str]] = []

    def drain(self) -> list[dict[str, str]]:
        try:
            while True:
                data = self.sock.recv(4096).decode()
                self.messages.append(dict(line.split("=", 1) for line in data.splitlines()))
        except TimeoutError:
            pass
        return self.messages

    def wait_for(self, key: str, after: int = 0, timeout: float = 15.0) -> int:
        """Index of the first message from `after` on that has `key`."""
        return (
            wait_until(
                lambda: next((i + 1 for i, m in enumerate(self.drain()) if i >= after and key in m), None),
                timeout,
                f"{key} on NOTIFY_SOCKET (got {self.messages})",
            )
            - 1
        )

    def close(self) -> None:
        self.sock.close()


def test_sd_notify_ready_reloading_watchdog_stopping(circusd, tmp_path):
    notifier = tmp_path / "notifier.py"
    notifier.write_text(NOTIFIER)
    listener = NotifyListener(tmp_path / "notify.sock")
    try:
        started = time.monotonic()
        d = circusd(
            f"""
            [watcher:web]
            cmd = {sys.executable} {notifier}
            numprocesses = 2
            readiness = notify
            min_ready = 2
            """,
            env={"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "200000"},
        )
        ready = listener.wait_for("READY")
        assert time.monotonic() - started >= 0.3, "READY=1 only once the workers said READY=1"
        assert listener.messages[ready]["STATUS"] == "running: 1 watcher(s), 2 of 2 process(es) ready"
        assert listener.messages[0]["STATUS"] == "starting the watchers"
        # The workers said a bare READY=1 to circusd's own socket: none of it reached "systemd".
        assert all("STATUS" in m for m in listener.drain() if "READY" in m), listener.messages
        watchdogs = sum(1 for m in listener.drain() if m.get("WATCHDOG") == "1")
        wait_until(
            lambda: sum(1 for m in listener.drain() if m.get("WATCHDOG") == "1") >= watchdogs + 3,
            5,
            "WATCHDOG=1 every 0.1 s (half WATCHDOG_USEC)",
        )
        d.signal(signal.SIGHUP)  # reloadconfig, as ExecReload or Type=notify-reload does
        reloading = listener.wait_for("RELOADING", after=ready + 1)
        assert listener.messages[reloading]["MONOTONIC_USEC"].isdigit()
        assert listener.messages[reloading]["STATUS"] == "reloading the configuration"
        listener.wait_for("READY", after=reloading + 1)
        d.signal(signal.SIGTERM)
        stopping = listener.wait_for("STOPPING", after=reloading + 1)
        assert listener.messages[stopping]["STATUS"] == "stopping every watcher"
        assert d.wait_exit(30) == 0
    finally:
        listener.close()
