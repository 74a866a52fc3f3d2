"""The plugins' pure parts: ResourceWatcher's assessment, WatchDog's heartbeats, statsd lines, FullStats'
gauges, split_data, CommandReloader's program lookup."""

from __future__ import annotations

import re
import socket

import pytest

from circus_web_stack.config.kinds import InvalidValue
from circus_web_stack.plugins import CircusPlugin
from circus_web_stack.plugins.command_reloader import program_path
from circus_web_stack.plugins.heartbeats import Heartbeats, heartbeat_pid
from circus_web_stack.plugins.resource_policy import Limits, Memory, MemoryLimit, Reading, assess, breaches
from circus_web_stack.plugins.statsd import watcher_gauges
from circus_web_stack.plugins.statsd_client import StatsdClient, format_metric, metric_name

MB = 1024 * 1024


@pytest.mark.parametrize(
    ("raw", "limit"),
    [
        ("90", MemoryLimit(90, True)),
        ("90%", MemoryLimit(90, True)),
        ("250M", MemoryLimit(250 * MB, False)),
        ("1.5G", MemoryLimit(1.5 * 1024 * MB, False)),
        ("512kb", MemoryLimit(512 * 1024, False)),
    ],
)
def test_memory_limits_are_percent_or_sizes(raw, limit):
    assert Memory().parse(raw) == limit


@pytest.mark.parametrize("raw", ["lots", "150", "12Q"])
def test_bad_memory_limits_are_refused(raw):
    with pytest.raises(InvalidValue, match="is not a memory limit"):
        Memory().parse(raw)


@pytest.mark.parametrize(
    ("limits", "reading", "expected"),
    [
        (Limits(), Reading(95.0, 1.0, 10 * MB), {"over_cpu"}),
        (Limits(), Reading(None, None, None), set()),  # unreadable: no breach (Circus: 100 %)
        (Limits(max_cpu=0), Reading(95.0, 1.0, 10 * MB), set()),
        (Limits(max_mem=MemoryLimit(50 * MB, False)), Reading(1.0, 1.0, 60 * MB), {"over_memory"}),
        (Limits(min_mem=MemoryLimit(50 * MB, False)), Reading(1.0, 1.0, 10 * MB), {"under_memory"}),  # a size
        (Limits(min_cpu=1.0), Reading(0.5, 1.0, MB), {"under_cpu"}),
        (Limits(max_cpu=0, max_mem=None, health_threshold=40), Reading(60.0, 30.0, MB), {"over_health"}),
    ],
)
def test_breaches(limits, reading, expected):
    assert breaches(limits, reading) == expected


def test_only_the_culprit_is_named_after_max_count_looks_and_starts_again():
    limits = Limits(max_cpu=50, max_mem=None, health_threshold=0, max_count=2)
    hot, cool = Reading(90.0, 1.0, MB), Reading(1.0, 1.0, MB)
    counts: dict = {}
    culprits = []
    for _ in range(3):
        verdict = assess(limits, counts, {1: hot, 2: cool})
        counts, culprits = verdict.counts, list(verdict.culprits)
    assert culprits == [1]
    assert counts[1]["over_cpu"] == 0 and counts[2]["over_cpu"] == 0
    assert assess(limits, counts, {2: cool}).counts.keys() == {2}  # a process gone is forgotten


def test_heartbeats_decode_bytes_and_report_the_silent_once():
    pattern = re.compile("^(?P<pid>.*);(?P<timestamp>.*)$")
    assert heartbeat_pid(b"4121;1700000000.5\n", pattern) == 4121  # bytes: circus#945
    assert heartbeat_pid(b"garbage", pattern) is None
    beats = Heartbeats(grace_s=3.0)
    beats.watch("web", 1, 0.0)
    beats.watch("web", 2, 0.0)
    assert beats.heard(1, 2.5) and not beats.heard(99, 2.5)
    silent = beats.take_silent(3.5)
    assert [(s.pid, s.watcher) for s in silent] == [(2, "web")]
    assert beats.take_silent(3.6) == [] and set(beats.pids) == {1}
    beats.forget_watcher("web")
    assert beats.pids == {}


def test_statsd_lines_and_names():
    assert format_metric("a.b", 1, "c") == "a.b:1|c"
    assert format_metric("a.b", 0.5, "g", 0.25) == "a.b:0.5|g|@0.25"
    assert metric_name("circus.app.watcher", "plugin:x.spawn") == "circus.app.watcher.plugin_x.spawn"


def test_a_sample_rate_below_one_really_samples():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        chances = iter([0.1, 0.9, 0.4, 0.6, 0.0])
        client = StatsdClient(
            "127.0.0.1", listener.getsockname()[1], sample_rate=0.5, chance=lambda: next(chances)
        )
        for n in range(4):
            client.increment(f"x{n}")
        client.gauge("done", 1)
        client.stop()
        received = []
        while not received or not received[-1].startswith(b"done"):
            received.append(listener.recv(100))
    assert received == [b"x0:1|c|@0.5", b"x2:1|c|@0.5", b"done:1|g|@0.5"]


def test_full_stats_gauges_skip_unreadable_values():
    infos = {
        "1": {"cpu": 10.0, "mem": 1.5, "rss_bytes": 100},
        "2": {"cpu": "N/A", "mem": 0.5, "rss_bytes": 300},
    }
    gauges = dict(watcher_gauges("web", infos))
    assert gauges["_stats.web.watchers_num"] == 2
    assert (gauges["_stats.web.cpu_max"], gauges["_stats.web.cpu_sum"]) == (10.0, 10.0)
    assert (gauges["_stats.web.mem_max"], gauges["_stats.web.mem_sum"]) == (300, 400)


def test_split_data_keeps_dotted_and_plugin_names():
    assert CircusPlugin.split_data([b"watcher.api.v2.spawn", b"{}"]) == ("api.v2", "spawn", b"{}")
    assert CircusPlugin.split_data([b"watcher.plugin:x.reap", b"{}"])[:2] == ("plugin:x", "reap")
    assert CircusPlugin.load_message(b'{"process_pid": 3}') == {"process_pid": 3}


def test_program_path_searches_path_and_takes_the_first_word(tmp_path):
    program = tmp_path / "serve"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert program_path("serve --port 1", None, None, str(tmp_path)) == str(program)
    assert program_path("./serve", None, str(tmp_path), None) == str(program)
    assert program_path("ignored", str(program), None, None) == str(program)
    assert program_path("missing-program", None, None, str(tmp_path)) is None
