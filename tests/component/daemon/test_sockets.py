"""Sockets are bound once, all or nothing, and inherited only by use_sockets watchers at a stable fd."""

from __future__ import annotations

import re
import socket
import sys

from circus_web_stack.testing.waiting import wait_until

PY = sys.executable

ECHO_SERVER = """
import os, socket, sys
fd = int(sys.argv[1])
wid = sys.argv[2]
sock = socket.socket(fileno=fd)
sock.setblocking(True)  # inherited sockets are non-blocking by default, as in Circus
while True:
    conn, addr = sock.accept()
    conn.sendall(f"hello from wid {wid} pid {os.getpid()} fd {fd}\\n".encode())
    conn.close()
"""


def bound_address(daemon, name):
    m = daemon.wait_log(rf"bound socket {name} on (?P<addr>\S+) \(fd (?P<fd>\d+)\)")
    return m["addr"], int(m["fd"])


def test_child_accepts_on_the_inherited_fd(circusd, tmp_path):
    (tmp_path / "echo.py").write_text(ECHO_SERVER)
    d = circusd(f"""
        [socket:web]
        host = 127.0.0.1
        port = 0
        [watcher:web]
        cmd = {PY} {tmp_path / "echo.py"} $(circus.sockets.web) $(circus.wid)
        use_sockets = true
        numprocesses = 2
    """)
    addr, fd = bound_address(d, "web")
    host, port = addr.rsplit(":", 1)
    d.wait_children(2, "echo.py")
    seen = set()

    def greet():
        with socket.create_connection((host, int(port)), timeout=5) as c:
            line = c.makefile().readline()
        m = re.match(r"hello from wid (\d) pid \d+ fd (\d+)", line)
        assert m and int(m[2]) == fd
        seen.add(m[1])
        return True

    for _ in range(20):
        greet()
    assert seen <= {"1", "2"}


def test_unix_socket_with_mode_and_the_sockets_stay_open_across_restarts(circusd, tmp_path):
    (tmp_path / "echo.py").write_text(ECHO_SERVER)
    path = tmp_path / "web.sock"
    d = circusd(f"""
        [socket:web]
        path = {path}
        umask = 077
        [watcher:web]
        cmd = {PY} {tmp_path / "echo.py"} $(circus.sockets.web) $(circus.wid)
        use_sockets = true
    """)
    (child,) = d.wait_children(1, "echo.py")
    assert oct(path.stat().st_mode & 0o777) == oct(0o700)
    child.kill()
    child.wait(10)  # gone and reaped: a connection now cannot land in the dying process's accept()
    # While the worker is gone, the socket still accepts: the kernel queues the connection.
    with socket.socket(socket.AF_UNIX) as c:
        c.settimeout(5)
        c.connect(str(path))
        assert c.makefile().readline().startswith("hello from wid 1")


def test_watchers_without_use_sockets_get_no_socket_fd(circusd, tmp_path):
    probe = tmp_path / "probe.py"
    # The probe lists the sockets among its fds before it opens anything (a number alone says
    # nothing: the probe's own files take the lowest free ones).
    probe.write_text(
        "import os, stat, sys, time\n"
        "def is_socket(fd):\n"
        "    try:\n"
        "        return stat.S_ISSOCK(os.fstat(fd).st_mode)\n"
        "    except OSError:\n"
        "        return False\n"
        "socks = [fd for fd in map(int, os.listdir('/proc/self/fd')) if is_socket(fd)]\n"
        "open(sys.argv[1], 'w').write('sockets: ' + ' '.join(map(str, socks)))\n"
        "time.sleep(1000)\n"
    )
    out = tmp_path / "fds.txt"
    d = circusd(f"""
        [socket:web]
        host = 127.0.0.1
        port = 0
        [watcher:other]
        cmd = {PY} {probe} {out}
    """)
    bound_address(d, "web")
    wait_until(lambda: out.exists() and out.read_text(), 10, "the probe's fd list")
    assert out.read_text() == "sockets: ", "a watcher without use_sockets inherited a socket"


def test_stale_unix_socket_file_is_refused_unless_replace(circusd, tmp_path):
    path = tmp_path / "stale.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    d = circusd(f"""
        [socket:web]
        path = {path}
        [watcher:web]
        cmd = sleep 1000
    """)
    assert d.wait_exit(20) == 71
    assert f"{path} already exists" in d.log() + d.stderr()
    d2 = circusd(f"""
        [socket:web]
        path = {path}
        replace = true
        [watcher:web]
        cmd = sleep 1000
    """)
    d2.wait_children(1)


def test_binding_is_all_or_nothing_and_names_every_failure(circusd):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        d = circusd(f"""
            [socket:ok]
            host = 127.0.0.1
            port = 0
            [socket:clash]
            host = 127.0.0.1
            port = {port}
            [watcher:web]
            cmd = sleep 1000
        """)
        assert d.wait_exit(20) == 71
        text = d.log() + d.stderr()
        assert f"socket clash (127.0.0.1:{port}): Address already in use" in text
        assert d.children() == []
        assert "spawned" not in text
    finally:
        taken.close()


def test_ipv6_socket(circusd, tmp_path):
    (tmp_path / "echo.py").write_text(ECHO_SERVER)
    d = circusd(f"""
        [socket:web6]
        host = ::1
        port = 0
        family = AF_INET6
        [watcher:web]
        cmd = {PY} {tmp_path / "echo.py"} $(circus.sockets.web6) $(circus.wid)
        use_sockets = true
    """)
    addr, _ = bound_address(d, "web6")
    port = int(addr.rsplit(":", 1)[1])
    d.wait_children(1, "echo.py")
    with socket.create_connection(("::1", port), timeout=5) as c:
        assert c.makefile().readline().startswith("hello from wid 1")
