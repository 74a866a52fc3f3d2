"""The families of /metrics rendered by prometheus_client and read back with its parser: Prometheus's
naming conventions hold for every one, and no series is labelled by pid."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from circus_web_stack.core.states import WatcherPhase
from circus_web_stack.protocol import pubsub
from circus_web_stack.protocol.stats import ListenerFigures, ProcessSample
from circus_web_stack.runtime.metrics.families import (
    MetricsSnapshot,
    ProcessView,
    SocketView,
    WatcherView,
    build_families,
)
from circus_web_stack.runtime.metrics.histogram import Histogram
from circus_web_stack.runtime.metrics.ledgers import CommandMeter, EventLedger
from circus_web_stack.runtime.metrics.slots import SlotRequests

NAME = re.compile(r"^circus_[a-z0-9_]+$")
UNITS = ("_seconds", "_bytes", "_total", "_count", "_sum", "_bucket", "_created")


def snapshot() -> MetricsSnapshot:
    events = EventLedger()
    events.apply("web", "reap", pubsub.reap_payload(41, 1.0, -9, wid=1, expected=False))
    events.apply(
        "web", "flapping", pubsub.flapping_payload(1.0, attempts=2, window=1, retry_in=7, retries_left=1)
    )
    events.apply("web", "reload", pubsub.reload_payload(1.0, old=2, new=1, ready=0, done=False))
    events.apply("web", "reload", pubsub.reload_payload(4.0, old=0, new=2, ready=2, done=True))
    commands = CommandMeter()
    commands.observe("status", 0.001, True)
    latency = Histogram((0.1, 1.0), [3, 1, 0], 0.4)
    return MetricsSnapshot(
        watchers=[
            WatcherView(
                "web",
                "running",
                2,
                (ProcessView(42, 1, "running", True), ProcessView(43, 2, "starting", False)),
            ),
            WatcherView("cron job", WatcherPhase.GIVEN_UP.value, 1, ()),
        ],
        sockets=[
            SocketView("web", "127.0.0.1:8000", ListenerFigures(queue=2, backlog=128, accepted=9, dropped=0))
        ],
        events=events,
        commands=commands,
        requests={("web", "1"): SlotRequests({"2xx": 3, "5xx": 1}, latency)},
        samples={42: ProcessSample(42, rss_bytes=30_000_000, cpu_seconds=1.5, create_time=1000.0)},
        cpu={("web", "1"): 2.5},
    )


def parsed() -> dict:
    registry = CollectorRegistry()

    class Collector:
        def collect(self):
            return build_families(snapshot())

    registry.register(Collector())
    text = generate_latest(registry).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_every_family_follows_prometheus_naming_and_never_labels_a_pid():
    families = parsed()
    assert len(families) >= 20
    for name, family in families.items():
        assert NAME.match(name), name
        assert family.documentation, name
        for sample in family.samples:
            assert "pid" not in sample.labels
            if family.type == "counter":
                assert sample.name.endswith(("_total", "_created")), sample.name
        if "seconds" in name or "bytes" in name:
            assert name.endswith(UNITS), name


def value(families: dict, family: str, sample: str, **labels: str) -> float:
    matches = [s.value for s in families[family].samples if s.name == sample and s.labels == labels]
    assert len(matches) == 1, (sample, labels, families[family].samples)
    return matches[0]


def test_the_figures_come_out_under_their_names():
    f = parsed()
    assert (
        value(
            f,
            "circus_process_restarts",
            "circus_process_restarts_total",
            watcher="web",
            wid="1",
            cause="signal",
            code="SIGKILL",
        )
        == 1
    )
    assert (
        value(f, "circus_process_cpu_seconds", "circus_process_cpu_seconds_total", watcher="web", wid="1")
        == 2.5
    )
    assert (
        value(
            f,
            "circus_process_resident_memory_bytes",
            "circus_process_resident_memory_bytes",
            watcher="web",
            wid="1",
        )
        == 30e6
    )
    assert (
        value(f, "circus_process_state", "circus_process_state", watcher="web", wid="2", state="starting")
        == 1
    )
    assert value(f, "circus_process_ready", "circus_process_ready", watcher="web", wid="2") == 0
    assert value(f, "circus_watcher_state", "circus_watcher_state", watcher="cron job", state="given_up") == 1
    assert value(f, "circus_watcher_ready_processes", "circus_watcher_ready_processes", watcher="web") == 1
    assert (
        value(f, "circus_watcher_flapping", "circus_watcher_flapping_total", watcher="web", outcome="paused")
        == 1
    )
    assert (
        value(f, "circus_watcher_reloads", "circus_watcher_reloads_total", watcher="web", outcome="done") == 1
    )
    assert (
        value(
            f,
            "circus_watcher_reload_duration_seconds",
            "circus_watcher_reload_duration_seconds_sum",
            watcher="web",
        )
        == 3
    )
    assert value(f, "circus_socket_accept_queue", "circus_socket_accept_queue", socket="web") == 2
    assert value(f, "circus_socket_backlog", "circus_socket_backlog", socket="web") == 128
    assert (
        value(
            f, "circus_socket_accepted_connections", "circus_socket_accepted_connections_total", socket="web"
        )
        == 9
    )
    assert value(f, "circus_socket_info", "circus_socket_info", socket="web", address="127.0.0.1:8000") == 1
    assert value(f, "circus_commands", "circus_commands_total", command="status", outcome="ok") == 1
    assert (
        value(
            f,
            "circus_http_requests",
            "circus_http_requests_total",
            watcher="web",
            wid="1",
            status_class="5xx",
        )
        == 1
    )
    durations = "circus_http_request_duration_seconds"
    assert value(f, durations, durations + "_bucket", watcher="web", wid="1", le="1.0") == 4
    assert value(f, durations, durations + "_count", watcher="web", wid="1") == 4


def test_the_documented_metrics_endpoint_snippet_listens_on_loopback(tmp_path):
    """docs/metrics.md's [circus] snippet, loaded as circusd loads it."""
    from circus_web_stack.config.loader import load_config
    from circus_web_stack.testing.recipes import recipe

    ini = tmp_path / "circus.ini"
    ini.write_text(recipe("metrics-endpoint-ini").text)
    assert load_config(str(ini)).daemon.metrics_endpoint == "127.0.0.1:9101"
