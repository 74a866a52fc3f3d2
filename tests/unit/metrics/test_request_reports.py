"""The request report a worker sends circusd: chaussette's writer and the daemon's reader agree, and
the reader refuses what would grow series out of garbage. chaussette's statsd lines and datagrams."""

from __future__ import annotations

import json

import pytest

from chaussette_compat.options import StatsdAddress, parse_statsd_host
from chaussette_compat.request_metrics import (
    LATENCY_BOUNDS,
    MAX_TIMINGS,
    NOTIFY_FIELD,
    RequestMeter,
    notify_report,
    pack_datagrams,
    statsd_lines,
    statsd_prefix,
)
from circus_web_stack.protocol.request_metrics import FIELD, decode_totals


def test_what_chaussette_writes_the_daemon_reads():
    meter = RequestMeter(keep_timings=False)
    for code, seconds in ((200, 0.0001), (204, 0.002), (404, 0.3), (503, 12.0), (200, 0.0005)):
        meter.observe(code, seconds)
    key, _, text = notify_report(meter.codes, meter.buckets, meter.sum_s).partition("=")
    assert key == NOTIFY_FIELD == FIELD
    totals = decode_totals(text)
    assert totals.statuses == {"2xx": 3, "4xx": 1, "5xx": 1}
    assert totals.bounds == LATENCY_BOUNDS
    assert totals.buckets[0] == 2 and totals.buckets[-1] == 1 and sum(totals.buckets) == 5
    assert totals.sum_s == pytest.approx(12.3026)
    assert meter.take_timings() == []


GOOD = {"v": 1, "status": {"2xx": 1}, "le": [0.1, 1], "buckets": [1, 0, 0], "sum": 0.05}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"v": 2}, '"v": 1'),
        ({"status": {"200": 1}}, "status must map"),
        ({"status": {"2xx": -1}}, "status must map"),
        ({"status": {"2xx": True}}, "status must map"),
        ({"le": [1, 0.1]}, "increasing positive bounds"),
        ({"le": []}, "increasing positive bounds"),
        ({"le": [0.1, float("inf")]}, "increasing positive bounds"),
        ({"buckets": [1, 0]}, "buckets must be 3 counts"),
        ({"sum": -1}, "sum must be"),
    ],
)
def test_a_malformed_report_is_refused_naming_the_problem(change, error):
    with pytest.raises(ValueError, match=error):
        decode_totals(json.dumps({**GOOD, **change}))


def test_not_json_is_refused():
    with pytest.raises(ValueError, match="not JSON"):
        decode_totals("{")


def test_statsd_lines_are_gunicorns_names_plus_status_classes():
    lines = list(statsd_lines("app.", {200: 3, 201: 1, 500: 2}, [0.0015]))
    assert lines == [
        "app.chaussette.requests:6|c",
        "app.chaussette.request.status.200:3|c",
        "app.chaussette.request.status.201:1|c",
        "app.chaussette.request.status.500:2|c",
        "app.chaussette.request.class.2xx:4|c",
        "app.chaussette.request.class.5xx:2|c",
        "app.chaussette.request.duration:1.500|ms",
    ]
    assert list(statsd_lines("", {}, [])) == []


@pytest.mark.parametrize(("text", "prefix"), [("app", "app."), ("app.", "app."), ("a.b..", "a.b."), ("", "")])
def test_statsd_prefix_as_gunicorn(text, prefix):
    assert statsd_prefix(text) == prefix


def test_datagrams_never_exceed_the_limit_and_keep_every_line():
    lines = [f"x.request.duration:{i}.000|ms" for i in range(500)]
    datagrams = list(pack_datagrams(iter(lines), limit=200))
    assert all(len(d) <= 200 for d in datagrams)
    assert b"\n".join(datagrams).decode().split("\n") == lines


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("localhost:8125", StatsdAddress("localhost", 8125)),
        ("10.0.0.1", StatsdAddress("10.0.0.1", 8125)),
        ("[::1]:9125", StatsdAddress("::1", 9125)),
        ("::1", StatsdAddress("::1", 8125)),
        ("unix:///run/statsd.sock", StatsdAddress(path="/run/statsd.sock")),
    ],
)
def test_statsd_host_forms(text, address):
    assert parse_statsd_host(text) == address


def test_past_max_timings_a_sample_goes_out_with_its_rate():
    lines = list(statsd_lines("", {}, [0.001] * (3 * MAX_TIMINGS)))
    assert len(lines) == MAX_TIMINGS
    assert all(line == "chaussette.request.duration:1.000|ms|@0.3333" for line in lines)
