"""The stream's CPU% and RSS against psutil's own blocking measurement over the same window, for a
busy loop, a process busy about 25% of the time, and an idle one."""

from __future__ import annotations

import statistics
import sys
import threading
import time

import psutil
import pytest

from .conftest import Message, stats_endpoint

PY = sys.executable
# Busy for 25 ms of CPU time, then asleep for 75 ms: about 25% of one core when the CPU is free.
DUTY = (
    "import time\\nwhile True:\\n    t = time.process_time()\\n"
    "    while time.process_time() - t < 0.025: pass\\n    time.sleep(0.075)"
)
INI = f"""
    [circus]
    statsd = true
    stats_interval = 0.5
    [watcher:busy]
    cmd = {PY} -c "while True: pass"
    [watcher:duty]
    cmd = {PY} -c "exec('{DUTY}')"
    [watcher:idle]
    cmd = sleep 1000
"""
WINDOW_S = 3.0
INTERVAL_S = 0.5


@pytest.mark.slow
def test_cpu_and_rss_match_psutil_over_the_same_window(circusd, collect):
    daemon = circusd(INI)
    daemon.wait_children(4)  # three watchers and circusd-stats
    pids = {name: daemon.call("list", name=name)["pids"][0] for name in ("busy", "duty", "idle")}
    rss_pairs: list[tuple[int, int]] = []

    def rss_now(message: Message) -> None:  # read psutil the moment the stream's figure arrives
        pid = message.payload.get("subtopic")
        if pid in pids.values() and message.topic.startswith("stat."):
            rss_pairs.append((message.payload["rss_bytes"], psutil.Process(pid).memory_info().rss))

    stream = collect(stats_endpoint(daemon), on_message=rss_now)
    for name, pid in pids.items():
        stream.wait_topic(f"stat.{name}.{pid}")
    blocking: dict[str, float] = {}

    def measure(name: str) -> None:
        blocking[name] = psutil.Process(pids[name]).cpu_percent(interval=WINDOW_S)

    started = time.monotonic()
    threads = [threading.Thread(target=measure, args=(name,)) for name in pids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WINDOW_S + 5)
    ended = time.monotonic()
    # The samples whose interval lies inside [started, ended]: received one interval after it began.
    for name, pid in pids.items():
        inside = [
            m.payload["cpu"]
            for m in stream.snapshot(started + INTERVAL_S)
            if m.topic == f"stat.{name}.{pid}" and m.received <= ended + 0.05
        ]
        assert len(inside) >= 4, (name, inside)
        ours = statistics.fmean(inside)
        assert abs(ours - blocking[name]) <= 3.0, f"{name}: stream {inside} vs psutil {blocking[name]}"
    assert blocking["busy"] > 20 and blocking["idle"] < 1  # the three loads were what they claim
    assert rss_pairs and all(abs(ours - theirs) <= 0.01 * theirs for ours, theirs in rss_pairs), rss_pairs
