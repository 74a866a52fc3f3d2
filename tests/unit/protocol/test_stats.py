"""Stats arithmetic: Circus's strings, CPU% over an interval, aggregates with N/A, stats topics."""

from __future__ import annotations

import pytest

from circus_web_stack.protocol import stats
from circus_web_stack.protocol.stats import NOT_AVAILABLE, ProcessSample


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0B"),
        (1023, "1023B"),
        (1024, "1.00K"),
        (28_112_896, "26.81M"),
        (34_498_560, "32.90M"),
        (3 * 1024**3, "3.00G"),
        (5 * 1024**8, "5.00Y"),
    ],
)
def test_human_bytes_like_circus(count, text):
    assert stats.human_bytes(count) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.15, "0:00.15"), (0.05, "0:00.05"), (61.999, "1:01.99"), (3725.5, "62:05.50"), (0, "0:00.00")],
)
def test_format_ctime(seconds, text):
    assert stats.format_ctime(seconds) == text


def test_cpu_percent_over_an_interval():
    assert stats.cpu_percent(1.0, 10.0, 1.5, 11.0) == 50.0
    assert stats.cpu_percent(1.0, 10.0, 3.0, 11.0) == 200.0  # two cores busy
    assert stats.cpu_percent(1.0, 10.0, 1.0, 10.0) is None  # empty interval
    assert stats.cpu_percent(5.0, 10.0, 1.0, 11.0) is None  # counter went back: pid reused
    assert stats.lifetime_cpu_percent(2.0, 100.0, 110.0) == 20.0


def sample(**kwargs) -> ProcessSample:
    base = dict(
        pid=8956,
        rss_bytes=28_112_896,
        vms_bytes=34_498_560,
        mem_percent=0.11123,
        cpu_seconds=0.15,
        cpu_percent=0.0,
        username="root",
        nice=0,
        create_time=1795392505.94,
        argv=("/usr/bin/python3.11", "-m", "app"),
    )
    base.update(kwargs)
    return ProcessSample(**base)


def test_process_info_has_circus_fields_and_numbers():
    info = stats.process_info(sample(), now=1795392517.945, started=1795392506.834, wid=1)
    assert info["mem_info1"] == "26.81M" and info["mem_info2"] == "32.90M"
    assert info["mem"] == 0.111 and info["cpu"] == 0.0 and info["ctime"] == "0:00.15"
    assert info["cmdline"] == "python3.11" and info["children"] == []
    assert info["age"] == pytest.approx(12.005)
    assert (info["started"], info["wid"]) == (1795392506.834, 1)
    assert (info["rss_bytes"], info["vms_bytes"], info["cpu_seconds"]) == (28_112_896, 34_498_560, 0.15)
    circus_fields = {f.name for f in stats.PROCESS_INFO_FIELDS if f.in_circus}
    assert circus_fields <= set(info)
    assert set(info) == {f.name for f in stats.PROCESS_INFO_FIELDS}


def test_unreadable_values_are_na_and_optional_fields_absent():
    info = stats.process_info(ProcessSample(pid=7), now=1.0)
    assert info["pid"] == 7
    for key in (
        "mem_info1",
        "mem_info2",
        "cpu",
        "mem",
        "ctime",
        "username",
        "nice",
        "create_time",
        "age",
        "cmdline",
    ):
        assert info[key] == NOT_AVAILABLE, key
    assert "started" not in info and "wid" not in info


def test_children_are_nested_infos():
    info = stats.process_info(sample(children=(sample(pid=9000, argv=("sh",)),)), now=1795392510.0)
    assert info["children"][0]["pid"] == 9000 and info["children"][0]["cmdline"] == "sh"


def test_aggregate_like_circus():
    a = {"pid": 1, "cpu": 10.0, "mem": 0.111, "age": 5.0, "rss_bytes": 100}
    b = {"pid": 2, "cpu": 20.0, "mem": 0.111, "age": 9.0, "rss_bytes": 50}
    assert stats.aggregate([a, b]) == {"pid": [1, 2], "cpu": 15.0, "mem": 0.222, "age": 9.0, "rss_bytes": 150}


def test_aggregate_propagates_na():
    a = {"pid": 1, "cpu": NOT_AVAILABLE, "mem": 0.1, "age": NOT_AVAILABLE, "rss_bytes": 1}
    b = {"pid": 2, "cpu": 1.0, "mem": NOT_AVAILABLE, "age": 3.0, "rss_bytes": NOT_AVAILABLE}
    total = stats.aggregate([a, b])
    assert total == {
        "pid": [1, 2],
        "cpu": NOT_AVAILABLE,
        "mem": NOT_AVAILABLE,
        "age": 3.0,
        "rss_bytes": NOT_AVAILABLE,
    }
    assert stats.aggregate([]) == {"pid": [], "cpu": 0.0, "mem": 0, "age": NOT_AVAILABLE, "rss_bytes": 0}


def test_stat_topics_and_payloads():
    assert stats.stat_topic("web") == "stat.web"
    assert stats.stat_topic("web", 9109) == "stat.web.9109"
    assert stats.socket_stat_topic(6) == "stat.sockets.6" and stats.socket_stat_topic() == "stat.sockets"
    payload = stats.process_stat_payload({"pid": 9109, "cpu": 0.0})
    assert payload == {"pid": 9109, "cpu": 0.0, "subtopic": 9109, "name": None}
    assert stats.process_stat_payload({"pid": 1}, name="circusd")["name"] == "circusd"
    sock = stats.socket_stat_payload(6, "127.0.0.1:18080", 0)
    assert sock == {"fd": 6, "subtopic": 6, "reads": 0, "address": "127.0.0.1:18080"}
    assert stats.socket_stat_payload(6, "x", 1, accepted=5)["accepted"] == 5
    assert stats.sockets_aggregate([sock, {**sock, "address": "/tmp/s", "reads": 2}]) == {
        "addresses": ["127.0.0.1:18080", "/tmp/s"],
        "reads": 2,
    }


@pytest.mark.parametrize(
    ("topic", "watchers", "expected"),
    [
        ("stat.web", (), ("web", None)),
        ("stat.web.9109", (), ("web", 9109)),
        (b"stat.api.v2.77", (), ("api.v2", 77)),
        ("stat.api.2", ("api.2",), ("api.2", None)),
        ("stat.api.2", (), ("api", 2)),
        ("stat.sockets.6", (), ("sockets", 6)),
    ],
)
def test_parse_stat_topic(topic, watchers, expected):
    assert stats.parse_stat_topic(topic, watchers) == expected


@pytest.mark.parametrize("topic", ["watcher.web.spawn", "stat.", "stats"])
def test_parse_stat_topic_refuses_others(topic):
    with pytest.raises(ValueError):
        stats.parse_stat_topic(topic)
