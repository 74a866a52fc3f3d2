"""StatsdEmitter and FullStats against a real UDP listener, with Circus's metric names."""

from __future__ import annotations

import sys

from tests.component.plugins.udp import UdpListener, wait_plugin_running

PY = sys.executable
SLEEP = f"{PY} -c 'import time; time.sleep(1000)'"


def test_statsd_emitter_counts_events_under_circus_names(circusd):
    with UdpListener() as statsd:
        d = circusd(f"""
            [watcher:web]
            cmd = {SLEEP}
            numprocesses = 2
            [plugin:statsd]
            use = circus.plugins.statsd.StatsdEmitter
            host = 127.0.0.1
            port = {statsd.port}
            application_name = shop
        """)
        d.wait_children(3)  # two workers and the plugin
        assert d.call("status", name="plugin:statsd")["status"] == "active"
        wait_plugin_running(d, "StatsdEmitter")
        statsd.wait_line_after(
            lambda: d.call("incr", name="web"), lambda line: line == "circus.shop.watcher.web.spawn:1|c"
        )
        d.call("stop", name="web", waiting=True)
        statsd.wait_line(lambda line: line == "circus.shop.watcher.web.stop:1|c")
        statsd.wait_line(lambda line: line == "circus.shop.watcher.web.kill:1|c")


def test_full_stats_gauges_every_watcher_but_plugins(circusd):
    with UdpListener() as statsd:
        d = circusd(f"""
            [watcher:web]
            cmd = {SLEEP}
            numprocesses = 2
            [plugin:full]
            use = circus.plugins.statsd.FullStats
            host = 127.0.0.1
            port = {statsd.port}
            loop_rate = 0.2
        """)
        d.wait_children(3)
        prefix = "circus.app.watcher._stats.web."
        statsd.wait_line(lambda line: line == prefix + "watchers_num:2|g")
        for metric in ("cpu_max", "cpu_sum", "mem_pct_max", "mem_pct_sum", "mem_max", "mem_sum"):
            line = statsd.wait_line(lambda line, m=metric: line.startswith(prefix + m + ":"))
            assert line.endswith("|g")
        mem = float(statsd.wait_line(lambda line: line.startswith(prefix + "mem_sum:")).split(":")[1][:-2])
        assert mem > 1_000_000  # bytes: two Python interpreters
        assert not any("plugin" in line for line in statsd.lines)
        # events are not counted by FullStats (Circus's BaseObserver ignores them)
        assert not any(line.endswith("|c") for line in statsd.lines)
