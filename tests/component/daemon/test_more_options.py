"""More of Circus's watcher options and circusd's own flags, each as a user would meet it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from circus_web_stack.testing.waiting import wait_until

PY = sys.executable


def test_singleton_refuses_a_second_process(circusd):
    d = circusd("""
        [watcher:leader]
        cmd = sleep 1000
        singleton = true
    """)
    d.wait_children(1)
    reply = d.call("incr", name="leader", waiting=True)
    assert reply["status"] == "error" and "singleton" in reply["reason"]
    assert len(d.children()) == 1


def test_autostart_false_waits_for_start(circusd):
    d = circusd("""
        [watcher:manual]
        cmd = sleep 1000
        autostart = false
    """)
    d.wait_running()
    assert d.call("status", name="manual")["status"] == "stopped"
    assert d.children() == []
    assert d.call("start", name="manual", waiting=True)["status"] == "ok"
    d.wait_children(1)


def test_executable_sets_the_program_and_cmd_gives_argv0(circusd, tmp_path):
    out = tmp_path / "argv0"
    d = circusd(f"""
        [watcher:named]
        cmd = my-fancy-name -c "import sys, time; open({str(out)!r}, 'w').write(sys.argv[0]);
            time.sleep(1000)"
        executable = {PY}
    """)
    d.wait_children(1)
    wait_until(lambda: out.exists() and out.read_text(), 10, "argv[0] written")
    assert psutil.Process(d.children()[0].pid).cmdline()[0] == "my-fancy-name"


def test_close_child_stdout_discards_output(circusd, tmp_path):
    d = circusd(f"""
        [watcher:quiet]
        cmd = {PY} -c "import os, time; print(os.readlink('/proc/self/fd/1'), flush=True); time.sleep(1000)"
        close_child_stdout = true
    """)
    (child,) = d.wait_children(1)
    assert os.readlink(f"/proc/{child.pid}/fd/1") == "/dev/null"


def test_stdin_socket_is_the_childs_stdin(circusd, tmp_path):
    script = tmp_path / "inetd.py"
    script.write_text(
        "import socket, sys\nsock = socket.socket(fileno=0)\nsock.setblocking(True)\n"
        "while True:\n    conn, _ = sock.accept()\n    conn.sendall(b'from stdin\\n')\n"
        "    conn.close()\n"
    )
    d = circusd(f"""
        [socket:svc]
        host = 127.0.0.1
        port = 0
        [watcher:svc]
        cmd = {PY} {script}
        stdin_socket = svc
    """)
    port = int(d.wait_log(r"bound socket svc on 127\.0\.0\.1:(\d+)")[1])
    d.wait_children(1)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        assert conn.makefile().readline() == "from stdin\n"


def start_lazy(circusd, tmp_path):
    """An on_demand watcher whose program answers "woken" to each connection; the daemon and the port."""
    script = tmp_path / "lazy.py"
    script.write_text(
        "import socket, sys\nsock = socket.socket(fileno=int(sys.argv[1]))\n"
        "sock.setblocking(True)\nwhile True:\n    conn, _ = sock.accept()\n"
        "    conn.sendall(b'woken\\n')\n    conn.close()\n"
    )
    d = circusd(f"""
        [socket:lazy]
        host = 127.0.0.1
        port = 0
        [watcher:lazy]
        cmd = {PY} {script} $(circus.sockets.lazy)
        use_sockets = true
        on_demand = true
    """)
    return d, int(d.wait_log(r"bound socket lazy on 127\.0\.0\.1:(\d+)")[1])


def test_on_demand_starts_at_the_first_connection(circusd, tmp_path):
    d, port = start_lazy(circusd, tmp_path)
    d.wait_log("lazy starts on demand")
    assert d.children() == []
    assert d.call("status", name="lazy")["status"] == "stopped"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.settimeout(10)
        assert conn.makefile().readline() == "woken\n"
    assert d.call("status", name="lazy")["status"] == "active"
    # Stopped again, it waits for the next connection again (as in Circus).
    assert d.call("stop", name="lazy", waiting=True)["status"] == "ok"
    wait_until(lambda: d.log().count("lazy starts on demand") == 2, 10, "on_demand armed again")
    assert d.call("status", name="lazy")["status"] == "stopped"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.settimeout(10)
        assert conn.makefile().readline() == "woken\n"


def test_daemon_mode_and_pidfile(tmp_path):
    ini = tmp_path / "circus.ini"
    ini.write_text("[watcher:bg]\ncmd = sleep 1000\n")
    pidfile = tmp_path / "circusd.pid"
    env = dict(os.environ, CIRCUS_RUNTIME_DIR=str(tmp_path / "run"))
    started = subprocess.run(
        [
            PY,
            "-m",
            "circus_web_stack.cli.circusd",
            str(ini),
            "--daemon",
            "--pidfile",
            str(pidfile),
            "--log-output",
            str(tmp_path / "log"),
        ],
        env=env,
        cwd=tmp_path,
        timeout=30,
    )
    assert started.returncode == 0  # the foreground process returns once detached
    pid = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, "the pidfile"))
    try:
        daemon = psutil.Process(pid)
        assert daemon.ppid() == 1 or daemon.ppid() != os.getpid()
        kids = wait_until(lambda: daemon.children(), 10, "the watcher's process")
        # A second daemon with the same pidfile refuses to start.
        second = subprocess.run(
            [PY, "-m", "circus_web_stack.cli.circusd", str(ini), "--pidfile", str(pidfile)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 73 and "still running" in second.stderr
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_until(
        lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
        20,
        "the daemon to exit",
    )
    assert not Path(pidfile).exists()
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kids)


def test_an_on_demand_watcher_removed_after_it_ran_stays_removed(circusd, tmp_path):
    """Its stop announces "stop", which re-arms an on_demand watcher: once removed, that must not
    happen (a later connection used to start a watcher the daemon no longer had: a traceback)."""
    d, port = start_lazy(circusd, tmp_path)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.settimeout(10)
        assert conn.makefile().readline() == "woken\n"
    assert d.call("rm", name="lazy", waiting=True)["status"] == "ok"
    with socket.create_connection(("127.0.0.1", port), timeout=10):
        # For a second (a start on demand takes milliseconds), nothing may start or fail.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert d.children() == [] and "Traceback" not in d.log()
            time.sleep(0.05)
    assert d.call("list")["watchers"] == []
    assert d.log().count("lazy starts on demand") == 1
