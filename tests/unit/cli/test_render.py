"""Rendering replies as our tables for people (`circusctl --table`), and as JSON."""

from __future__ import annotations

import json

import pytest

from circus_web_stack.cli.common import format_age
from circus_web_stack.cli.render import (
    RENDERERS,
    render_error,
    render_json,
    render_key_values,
    render_reply,
    render_table,
)
from circus_web_stack.protocol.commands import COMMAND_TABLE, COMMANDS

OK = {"status": "ok", "time": 1.0, "id": "1"}

STATS_INFO = {
    "mem_info1": "26.81M",
    "mem_info2": "32.90M",
    "cpu": 0.0,
    "mem": 0.111,
    "ctime": "0:00.15",
    "pid": 8956,
    "username": "root",
    "nice": 0,
    "create_time": 1795392505.94,
    "age": 12.005,
    "cmdline": "python3.11",
    "children": [],
    "started": 1795392506.834,
    "wid": 1,
}


@pytest.mark.parametrize(
    ("command", "fields", "text"),
    [
        ("incr", {"numprocesses": 3}, "3"),
        ("numwatchers", {"numwatchers": 4}, "4"),
        ("list", {"watchers": ["api", "web"]}, "api\nweb"),
        ("list", {"pids": [12, 13]}, "12\n13"),
        ("status", {"status": "active"}, "active"),
        ("get", {"options": {"numprocesses": 3}}, "numprocesses: 3"),
        ("stop", {}, "ok"),
        ("quit", {}, "ok"),
        ("signal", {}, "ok"),
    ],
)
def test_one_liners(command, fields, text):
    assert render_reply(command, {**OK, **fields}) == text


def test_status_of_all_is_aligned_and_sorted():
    reply = {**OK, "statuses": {"web": "active", "circusd-stats": "active", "plugin:flapping": "stopped"}}
    assert render_reply("status", reply) == (
        "circusd-stats:   active\nplugin:flapping: stopped\nweb:             active"
    )


def test_options_render_values_as_json_where_structured():
    reply = {
        **OK,
        "options": {"env": {"A": "1"}, "numprocesses": 2, "shell": False, "uid": None, "cmd": "python x"},
    }
    assert render_reply("options", reply).splitlines() == [
        "cmd:          python x",
        'env:          {"A": "1"}',
        "numprocesses: 2",
        "shell:        false",
        "uid:",
    ]


def test_reload_with_waiting_lists_pids():
    reply = {**OK, "info": {"stopped": [8957, 9101], "started": [9102, 9103], "kept": []}}
    assert render_reply("reload", reply) == "ok\n  started: 9102 9103\n  stopped: 8957 9101\n  kept: -"


def test_stats_of_one_watcher_is_a_table():
    reply = {**OK, "name": "web", "info": {"8957": {**STATS_INFO, "pid": 8957, "wid": 2}, "8956": STATS_INFO}}
    lines = render_reply("stats", reply).splitlines()
    assert lines[0].split() == [
        "WATCHER",
        "PID",
        "WID",
        "CPU%",
        "MEM%",
        "RSS",
        "VMS",
        "AGE",
        "CPU",
        "TIME",
        "CMD",
    ]
    assert lines[1].split() == [
        "web",
        "8956",
        "1",
        "0.0",
        "0.111",
        "26.81M",
        "32.90M",
        "12.0s",
        "0:00.15",
        "python3.11",
    ]
    assert lines[2].split()[1] == "8957"
    assert len({len(line) for line in lines[1:]}) == 1  # aligned


def test_stats_of_all_watchers_children_and_errors():
    child = {**STATS_INFO, "pid": 9000, "cmdline": "sh"}
    reply = {**OK, "infos": {"web": {"8956": {**STATS_INFO, "children": [child]}}, "api": "No such process"}}
    lines = render_reply("stats", reply).splitlines()
    assert lines[1].split()[0] == "api" and lines[1].endswith("No such process")
    assert lines[2].split()[:2] == ["web", "8956"]
    assert "└ 9000" in lines[3] and lines[3].rstrip().endswith("sh")


def test_stats_of_one_process():
    reply = {**OK, "process": 8956, "info": STATS_INFO}
    assert render_reply("stats", reply).splitlines()[1].split()[:2] == ["-", "8956"]


def test_dstats_is_key_values_with_age_formatted():
    text = render_reply("dstats", {**OK, "info": {**STATS_INFO, "age": 200.0, "children": [{"pid": 5}]}})
    assert "age:         3m20s" in text
    assert text.endswith("children: 5")


def test_listsockets_table():
    reply = {
        **OK,
        "sockets": [
            {"fd": 6, "name": "web", "backlog": 2048, "host": "127.0.0.1", "port": 18080},
            {"fd": 7, "name": "unix", "backlog": 128, "path": "/run/web.sock"},
        ],
    }
    assert render_reply("listsockets", reply).splitlines() == [
        "FD  NAME  ADDRESS          BACKLOG",
        " 6  web   127.0.0.1:18080     2048",
        " 7  unix  /run/web.sock        128",
    ]


def test_every_command_renders_a_bare_ok_reply():
    assert set(RENDERERS) <= set(COMMANDS)
    for spec in COMMAND_TABLE:
        assert isinstance(render_reply(spec.name, dict(OK)), str)


def test_error_and_json():
    reply = {
        "status": "error",
        "reason": "program nope not found",
        "errno": 3,
        "id": "1",
        "tb": None,
        "time": 1.0,
    }
    assert render_error(reply) == "error: program nope not found"
    assert json.loads(render_json(reply)) == reply
    pretty = render_json(reply, pretty=True)
    assert pretty.startswith("{\n  ") and json.loads(pretty) == reply


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "0.5s"), (59.94, "59.9s"), (65, "1m05s"), (7260, "2h01m"), (90000, "1d01h"), ("N/A", "N/A")],
)
def test_format_age(seconds, text):
    assert format_age(seconds, tenths=True) == text


def test_table_and_key_value_helpers():
    assert render_table(("A", "B"), [(1, "x"), (22, "yy")], right=(0,)) == " A  B\n 1  x\n22  yy"
    assert render_key_values({}) == ""
