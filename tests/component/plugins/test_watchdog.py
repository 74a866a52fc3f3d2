"""WatchDog with real UDP heartbeats: a process that beats lives on, a silent one is killed after its
grace (loop_rate x max_count) with the reason logged, the kill published, and the watcher replaces it."""

from __future__ import annotations

import json
import re
import sys

from circus_web_stack.client.daemon import iter_events
from circus_web_stack.testing.waiting import wait_until
from tests.component.plugins.udp import wait_plugin_running

PY = sys.executable

# Beats `pid;timestamp` to the port written in port.txt, every 0.1 s; with "silent", never.
WORKER = """
import os, socket, sys, time
port_file, silent = sys.argv[1], sys.argv[2:] == ["silent"]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    if not silent and os.path.exists(port_file):
        port = int(open(port_file).read())
        sock.sendto(f"{os.getpid()};{time.time()}".encode(), ("127.0.0.1", port))
    time.sleep(0.1)
"""


def test_a_silent_process_is_killed_after_its_grace_and_a_beating_one_lives(circusd, tmp_path):
    (tmp_path / "worker.py").write_text(WORKER)
    port_file = tmp_path / "port.txt"
    d = circusd(f"""
        [watcher:beating]
        cmd = {PY} {tmp_path / "worker.py"} {port_file}
        [watcher:silent]
        cmd = {PY} {tmp_path / "worker.py"} {port_file} silent
        graceful_timeout = 1
        [plugin:watchdog]
        use = circus.plugins.watchdog.WatchDog
        loop_rate = 0.3
        max_count = 3
        port = 0
    """)
    wait_plugin_running(d, "WatchDog")
    port = re.search(r"heartbeats on 127\.0\.0\.1:(\d+)", d.stderr())[1]
    port_file.write_text(port)
    (beating,) = d.call("list", name="beating")["pids"]
    (silent,) = d.call("list", name="silent")["pids"]
    events = iter_events(d.pubsub_endpoint, ("watcher.silent.kill",), timeout=20)
    kill = next(e for e in events if e.payload["process_pid"] == silent)
    assert kill.name == "kill"
    wait_until(lambda: f"silent pid={silent} sent no heartbeat for" in d.stderr(), 5, "the reason logged")
    assert "(loop_rate 0.3s x max_count 3): killing it" in d.stderr()
    replaced = wait_until(
        lambda: [p for p in d.call("list", name="silent")["pids"] if p != silent], 10, "silent replaced"
    )
    assert replaced
    assert d.call("list", name="beating")["pids"] == [beating]  # it beat: never killed
    assert f"beating pid={beating}" not in d.stderr()
    assert json.dumps(kill.payload)  # Circus's kill payload: process_pid and time
    assert set(kill.payload) >= {"process_pid", "time"}
