"""reloadconfig applies only the difference: a moved socket is bound anew before its watcher rolls onto
it, changed watchers roll, unchanged ones keep their processes, a broken file changes nothing."""

from __future__ import annotations

import http.client
import socket
import sys
import time

from circus_web_stack.testing.programs import held_script
from circus_web_stack.testing.waiting import wait_until

PY = sys.executable
APP = """
import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.environ.get("RELEASE", "none").encode()]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(tmp_path, port: int, release: str) -> str:
    return f"""
[socket:web]
host = 127.0.0.1
port = {port}
[watcher:web]
cmd = {PY} -m chaussette_compat --fd $(circus.sockets.web) --no-access-log app:application
working_dir = {tmp_path}
use_sockets = true
numprocesses = 2
[env:web]
RELEASE = {release}
[watcher:bystander]
cmd = sleep 1000
"""


def fetch(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def serves(port: int, text: str) -> bool:
    try:
        return fetch(port) == text
    except OSError:
        return False


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_moved_socket_and_changed_env_roll_while_the_rest_stays(circusd, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    first, second = free_port(), free_port()
    d = circusd(config(tmp_path, first, "one"))
    wait_until(lambda: serves(first, "one"), 15, "release one on the first port")
    bystander = d.call("list", name="bystander")["pids"]
    web_before = set(d.call("list", name="web")["pids"])
    d.ini_path.write_text(config(tmp_path, second, "two"))
    reply = d.call("reloadconfig", waiting=True)
    assert reply["status"] == "ok", reply
    assert reply["changes"]["changed"] == ["web"]
    assert fetch(second) == "two"
    assert refused(first)
    assert not web_before & set(d.call("list", name="web")["pids"])
    assert d.call("list", name="bystander")["pids"] == bystander
    assert d.call("listsockets")["sockets"][0]["port"] == second


def test_a_broken_file_or_an_unbindable_socket_changes_nothing(circusd, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    d = circusd(config(tmp_path, port, "one"))
    wait_until(lambda: serves(port, "one"), 15, "the app")
    pids = d.call("list", name="web")["pids"]
    d.ini_path.write_text(config(tmp_path, port, "two").replace("numprocesses = 2", "numprocesses = lots"))
    reply = d.call("reloadconfig", waiting=True)
    assert reply["status"] == "error" and "nothing changed" in reply["reason"] and "lots" in reply["reason"]
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        d.ini_path.write_text(config(tmp_path, taken.getsockname()[1], "two"))
        reply = d.call("reloadconfig", waiting=True)
        assert reply["status"] == "error" and "cannot bind" in reply["reason"]
    finally:
        taken.close()
    assert d.call("list", name="web")["pids"] == pids
    assert fetch(port) == "one"


def test_rm_while_reloadconfig_removes_the_same_watcher_waits_its_turn(circusd, tmp_path):
    """Commands that add or remove watchers (add, rm, reloadconfig) take turns: an `rm` of the watcher a
    reloadconfig is still stopping waits for it and then says the watcher is gone, instead of both
    deleting it (an internal error, and a half-applied reloadconfig)."""
    script, marker, release = held_script(tmp_path)
    d = circusd(f"""
        [watcher:held]
        cmd = {PY} {script}
        graceful_timeout = 60
        [watcher:quick]
        cmd = sleep 1000
    """)
    wait_until(marker.exists, 10, "held ignoring SIGTERM")
    d.ini_path.write_text("[watcher:quick]\ncmd = sleep 1000\n")
    reloading = d.call_in_background("reloadconfig", waiting=True)
    d.wait_log(r"stopping held#1 .* with SIGTERM")
    removing = d.call_in_background("rm", name="held", waiting=True)
    time.sleep(0.5)  # pacing, not an assertion: the rm reaches the daemon while held still runs
    assert not reloading.answered() and not removing.answered()
    release.touch()
    reply = reloading.reply()
    assert reply["status"] == "ok" and reply["changes"]["removed"] == ["held"], reply
    assert removing.reply()["status"] == "error", removing.reply()
    assert removing.reply()["reason"] == "program held not found", removing.reply()
    assert d.call("list")["watchers"] == ["quick"]


def test_reloadconfig_after_add_and_rm_applies_the_file_to_what_runs(circusd, tmp_path):
    """The difference is taken against what runs: a watcher `rm` took away is started again if the file
    still has it, an `add`-ed one the file now names takes the file's config, and the rest of the
    change applies (an rm used to make the next reloadconfig fail half-way)."""
    d = circusd("""
        [watcher:a]
        cmd = sleep 1000
        [watcher:b]
        cmd = sleep 1001
    """)
    wait_until(lambda: len(d.children()) == 2, 10, "a and b")
    assert d.call("rm", name="b", waiting=True)["status"] == "ok"
    assert d.call("add", name="d", cmd="sleep 1002", start=True)["status"] == "ok"
    d.ini_path.write_text(
        "[watcher:a]\ncmd = sleep 1000\nnumprocesses = 2\n"
        "[watcher:b]\ncmd = sleep 1001\n"
        "[watcher:c]\ncmd = sleep 1003\n"
        "[watcher:d]\ncmd = sleep 1004\n"
    )
    reply = d.call("reloadconfig", waiting=True)
    assert reply["status"] == "ok", reply
    assert reply["changes"] == {"added": ["b", "c"], "removed": [], "changed": ["d"], "scaled": ["a"]}
    assert d.call("list")["watchers"] == ["a", "b", "c", "d"]
    assert len(d.call("list", name="a")["pids"]) == 2
    assert d.call("get", name="d", keys=["cmd"])["options"]["cmd"] == "sleep 1004"
    wait_until(lambda: len(d.children()) == 5, 10, "2 a, b, c and d")
    assert d.call("reloadconfig", waiting=True)["changes"] == {
        "added": [],
        "removed": [],
        "changed": [],
        "scaled": [],
    }
