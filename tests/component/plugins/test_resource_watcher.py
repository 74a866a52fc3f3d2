"""ResourceWatcher against real processes: with a memory limit in units (50M), the one process over it
is killed and replaced while its sibling lives on; when every process of a watcher is over, the
watcher is reloaded (new processes first) instead of Circus's restart."""

from __future__ import annotations

import sys
import textwrap

from circus_web_stack.client.daemon import iter_events
from circus_web_stack.testing.waiting import wait_until
from tests.component.plugins.udp import UdpListener

PY = sys.executable

# Worker 1 (or every worker with "all") holds 80 MB of touched memory; the others hold nothing.
WORKER = """
import sys, time
wid, who = int(sys.argv[1]), sys.argv[2]
ballast = bytearray(80 * 1024 * 1024) if (who == "all" or wid == 1) else b""
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
time.sleep(1000)
"""


def _plugin(name: str, watcher: str, port: int) -> str:
    return textwrap.dedent(f"""
        [plugin:{name}]
        use = circus.plugins.resource_watcher.ResourceWatcher
        watcher = {watcher}
        loop_rate = 0.3
        max_count = 1
        max_cpu = 0
        health_threshold = 0
        max_mem = 50M
        host = 127.0.0.1
        port = {port}
    """)


def test_the_process_over_its_memory_limit_is_replaced_alone(circusd, tmp_path):
    (tmp_path / "worker.py").write_text(WORKER)
    with UdpListener() as statsd:
        d = circusd(
            textwrap.dedent(f"""
            [watcher:mixed]
            cmd = {PY} {tmp_path / "worker.py"} $(circus.wid) one
            numprocesses = 2
            graceful_timeout = 2
            """)
            + _plugin("res", "mixed", statsd.port)
        )
        d.wait_children(3)
        pids = d.call("list", name="mixed")["pids"]
        events = iter_events(d.pubsub_endpoint, ("watcher.mixed.kill",), timeout=20)
        killed = next(events).payload["process_pid"]
        statsd.wait_line(lambda line: line == "circus.app.watcher._resource_watcher.mixed.over_memory:1|c")
        statsd.wait_line(
            lambda line: line.startswith("circus.app.watcher._resource_watcher.mixed.restarting:")
        )
        (sibling,) = [p for p in pids if p != killed]
        wait_until(
            lambda: len(set(d.call("list", name="mixed")["pids"]) - set(pids)) == 1, 10, "a replacement"
        )
        assert sibling in d.call("list", name="mixed")["pids"]  # its sibling was never touched
        wait_until(lambda: f"mixed pid={killed} breached over_memory" in d.stderr(), 5, "the reason logged")


def test_every_process_over_the_limit_reloads_the_watcher(circusd, tmp_path):
    (tmp_path / "worker.py").write_text(WORKER)
    with UdpListener() as statsd:
        d = circusd(
            textwrap.dedent(f"""
            [watcher:solo]
            cmd = {PY} {tmp_path / "worker.py"} $(circus.wid) all
            graceful_timeout = 2
            """)
            + _plugin("res", "solo", statsd.port)
        )
        d.wait_children(2)
        events = iter_events(d.pubsub_endpoint, ("watcher.solo.",), timeout=20)
        assert next(e for e in events if e.name == "reload").watcher == "solo"
        wait_until(
            lambda: "every process of solo is over its limits (over_memory)" in d.stderr(),
            5,
            "the reason logged",
        )
