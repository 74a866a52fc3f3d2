"""Circus 0.19's console text, reproduced from its console_msg methods (the component test
tests/component/control/test_circus_text.py compares against Circus's own circusctl)."""

from __future__ import annotations

from circus_web_stack.cli.circus_text import RENDERERS, render_circus_text
from circus_web_stack.protocol.commands import COMMANDS

OK = {"status": "ok", "time": 1.0, "id": "1"}
INFO = {
    "pid": 8956,
    "cmdline": "python3.11",
    "username": "root",
    "nice": 0,
    "mem_info1": "26.81M",
    "mem_info2": "32.90M",
    "cpu": 0.0,
    "mem": 0.111,
    "ctime": "0:00.15",
    "age": 12.0,
    "children": [],
}
LINE = "8956  python3.11 root 0 26.81M 32.90M 0.0 0.111 0:00.15"


def text(command: str, **fields: object) -> str:
    return render_circus_text(command, {**OK, **fields})


def test_every_renderer_is_a_command():
    assert set(RENDERERS) <= set(COMMANDS)


def test_lists_are_comma_joined_on_one_line():
    assert text("list", pids=[3985, 3986]) == "3985,3986"
    assert text("list", watchers=["api.v2", "web"]) == "api.v2,web"
    assert text("list", pids=[]) == ""


def test_key_values_keep_the_reply_order_and_pythons_spelling():
    options = {"numprocesses": 2, "shell": False, "uid": None, "env": {"B": "2", "A": "one"}, "hooks": {}}
    assert text("get", options=options).splitlines() == [
        "numprocesses: 2",
        "shell: False",
        "uid: ",
        "env: A=one,B=2",
        "hooks: {}",
    ]
    assert text("globaloptions", options={"check_delay": 1.0}) == "check_delay: 1.0"
    assert text("options", options={"env": {}}) == "env: "


def test_status_is_unaligned_and_sorted():
    assert text("status", statuses={"web": "active", "api.v2": "stopped"}) == "api.v2: stopped\nweb: active"
    assert render_circus_text("status", {"status": "active", "time": 1.0, "id": "1"}) == "active"


def test_listsockets():
    sockets = [
        {"fd": 6, "name": "web", "backlog": 2048, "host": "127.0.0.1", "port": 8000},
        {"fd": 7, "name": "local", "backlog": 128, "path": "/run/web.sock"},
    ]
    assert (
        text("listsockets", sockets=sockets)
        == "6:socket 'web' at 127.0.0.1:8000\n7:socket 'local' at /run/web.sock"
    )


def test_counts():
    assert text("incr") == "ok"
    assert text("incr", numprocesses=3) == "3"
    assert text("decr", numprocesses=1, singleton=True).startswith("This watcher is a Singleton")
    assert text("numprocesses", numprocesses=4) == "4"
    assert text("numwatchers", numwatchers=2) == "2"


def test_stats_forms():
    child = {**INFO, "pid": 9000, "cmdline": "sh"}
    assert text("stats", name="web", info={"8956": {**INFO, "children": [child]}}) == (
        f"web:\n8956: {LINE}\n   9000  sh root 0 26.81M 32.90M 0.0 0.111 0:00.15"
    )
    assert text("stats", infos={"web": {"8956": INFO}, "api": {}}) == f"web:\n8956: {LINE}\napi:"
    assert text("stats", process=8956, info=INFO) == f"8956: {LINE}\n"  # Circus's own extra newline
    assert text("stats", name="web", info={"8956": "No such process (stopped?)"}) == (
        "web:\n8956: No such process (stopped?)"
    )


def test_dstats():
    assert text("dstats", info={**INFO, "children": [{**INFO, "pid": 5}]}) == (
        f"Main Process:\n    {LINE}\nChildren:\n    5  python3.11 root 0 26.81M 32.90M 0.0 0.111 0:00.15"
    )


def test_the_others_say_ok():
    assert text("reload", info={"started": [1], "stopped": [2], "kept": []}) == "ok"
    assert text("quit") == "ok"
