"""circus-top without a terminal: the model fed with stream messages, keys, row allotment, and the
rendered screen fitting the terminal."""

from __future__ import annotations

import pytest
from rich.console import Console

from circus_web_stack.cli.common import format_age
from circus_web_stack.cli.top_model import TopState, View, handle_key
from circus_web_stack.cli.top_screen import allot_rows, describe_silence, render


def proc(pid: int, cpu: float, rss: int, name: str | None = None) -> dict:
    return {
        "pid": pid,
        "cpu": cpu,
        "mem": 0.5,
        "rss_bytes": rss,
        "age": 65.0,
        "cmdline": "python3",
        "subtopic": pid,
        "name": name,
    }


def feed(state: TopState, now: float = 100.0) -> None:
    state.apply("stat.web.11", proc(11, 90.0, 10_000_000), now)
    state.apply("stat.web.12", proc(12, 5.0, 90_000_000), now)
    state.apply("stat.web", {"pid": [11, 12], "cpu": 47.5, "mem": 1.0, "age": 65.0, "cpu_total": 95.0}, now)
    state.apply("stat.api.v2.21", proc(21, 1.0, 5_000_000), now)  # a dotted watcher name
    state.apply("stat.api.v2", {"pid": [21], "cpu": 1.0, "mem": 0.5, "age": 65.0}, now)
    state.apply(
        "stat.sockets.6",
        {"fd": 6, "subtopic": 6, "reads": 3, "address": "127.0.0.1:8000", "queue": 2, "accepted": 40},
        now,
    )
    state.apply("stat.sockets", {"addresses": ["127.0.0.1:8000"], "reads": 3}, now)
    state.apply("stat.circus.1", proc(1, 0.5, 30_000_000, name="circusd"), now)


def test_messages_land_in_watchers_sockets_and_circus():
    state = TopState()
    feed(state)
    assert set(state.watchers) == {"web", "api.v2"}
    assert set(state.watchers["web"].processes) == {11, 12}
    assert state.watchers["web"].totals["cpu_total"] == 95.0
    assert set(state.sockets) == {6} and set(state.circus) == {1}
    assert state.apply("stat.circus", {"pid": [1]}, 100.0)  # the last message of a sample
    assert state.apply("stat.circus", {"pid": [1]}, 101.0) and state.interval_s == pytest.approx(1.0)
    assert not state.apply("watcher.web.spawn", {}, 101.0)


def test_processes_the_stream_stopped_mentioning_expire():
    state = TopState()
    feed(state, now=100.0)
    state.apply("stat.web.12", proc(12, 5.0, 1), 104.0)
    state.expire(104.5, timeout_s=3.0)
    assert set(state.watchers["web"].processes) == {12}
    assert not state.sockets and not state.circus


def test_keys():
    state = TopState()
    feed(state)
    view = View()
    assert handle_key("m", view, state).sort == "mem"
    assert handle_key("c", View(sort="mem"), state).sort == "cpu"
    first = handle_key("w", view, state)
    assert first.watcher == "api.v2"
    assert handle_key("w", first, state).watcher == "web"
    assert handle_key("w", View(watcher="web"), state).watcher is None
    assert handle_key("a", View(watcher="web"), state).watcher is None
    assert handle_key("q", view, state) is None
    assert handle_key("x", view, state) == view


@pytest.mark.parametrize(
    ("sizes", "budget", "expected"),
    [
        ([2, 3], 10, [2, 3]),
        ([5, 5], 6, [2, 2]),  # round-robin: a big watcher cannot hide the others
        ([1, 9], 8, [1, 5]),
        ([3, 3, 3], 2, [0, None, None]),  # one heading and the "more watchers" line
        ([3], 0, [None]),
        ([], 5, []),
    ],
)
def test_allot_rows(sizes, budget, expected):
    assert allot_rows(sizes, budget) == expected


def screen_lines(
    state: TopState, view: View, width: int, height: int, problem: str | None = None
) -> list[str]:
    console = Console(width=width, height=height, record=True, color_system=None)
    console.print(
        render(state, view, now=100.5, endpoint="ipc:///x", height=height, width=width, problem=problem)
    )
    return console.export_text().rstrip("\n").split("\n")


@pytest.mark.parametrize(("width", "height"), [(120, 40), (80, 24), (60, 12), (40, 8)])
def test_the_screen_fits_the_terminal_and_keeps_the_key_line(width, height):
    state = TopState()
    feed(state)
    for pid in range(100, 160):
        state.apply(f"stat.web.{pid}", proc(pid, 1.0, 1000), 100.0)
    lines = screen_lines(state, View(), width, height, problem="cannot reach the stats endpoint: x")
    assert len(lines) <= height
    assert all(len(line) <= width for line in lines)
    assert lines[-1].startswith("q quit")


def test_sorting_and_filtering_show_in_the_rows():
    state = TopState()
    feed(state)
    by_cpu = "\n".join(screen_lines(state, View(sort="cpu"), 100, 30))
    assert by_cpu.index("  11 ") < by_cpu.index("  12 ") and by_cpu.index("web (2)") < by_cpu.index(
        "api.v2 (1)"
    )
    by_mem = "\n".join(screen_lines(state, View(sort="mem"), 100, 30))
    assert by_mem.index("  12 ") < by_mem.index("  11 ") and "sorted by memory" in by_mem
    only_api = "\n".join(screen_lines(state, View(watcher="api.v2"), 100, 30))
    assert "api.v2 (1)" in only_api and "web (2)" not in only_api
    assert "127.0.0.1:8000" in by_cpu and "circusd pid 1" in by_cpu
    assert "95.0" in by_cpu  # the watcher's summed CPU, not its mean


def test_silence_is_explained(tmp_path):
    state = TopState()
    missing = f"ipc://{tmp_path}/stats.sock"
    assert "does not exist" in describe_silence(missing, state, 10.0, 9.0)
    (tmp_path / "stats.sock").touch()
    assert describe_silence(missing, state, 10.0, 9.0) is None  # give it a moment
    assert "no statistics from" in describe_silence(missing, state, 20.0, 9.0)
    assert "refused" in describe_silence("tcp://127.0.0.1:1", state, 10.0, 9.5, connected=False)
    state.apply("stat.web", {"pid": []}, 30.0)
    assert describe_silence(missing, state, 31.0, 9.0) is None
    assert "no statistics for 10s" in describe_silence(missing, state, 40.0, 9.0)


@pytest.mark.parametrize(
    ("seconds", "text"), [(5.4, "5s"), (65, "1m05s"), (3725, "1h02m"), (90061, "1d01h"), ("N/A", "N/A")]
)
def test_format_age(seconds, text):
    assert format_age(seconds) == text
