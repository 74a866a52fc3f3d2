"""circus-top's screen: the model drawn as rich renderables that fit the terminal, and what to say
when the stream never came or went quiet.

Rule: functions of the model, the view, the size and the clock (and, for silence, whether an ipc
socket file exists); tested without a terminal.
"""

from __future__ import annotations

import os
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from circus_web_stack.cli.common import format_age
from circus_web_stack.cli.top_model import States, TopState, View, WatcherView, as_states
from circus_web_stack.protocol.stats import NOT_AVAILABLE, human_bytes


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else -1.0


def sort_key(sort: str, info: dict) -> float:
    return _number(info.get("cpu")) if sort == "cpu" else _number(info.get("rss_bytes"))


def _watcher_key(sort: str, view: WatcherView) -> float:
    infos = [i for i, _ in view.processes.values()]
    if sort == "cpu":
        return sum(max(0.0, _number(i.get("cpu"))) for i in infos)
    return sum(max(0.0, _number(i.get("rss_bytes"))) for i in infos)


def _cpu(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else NOT_AVAILABLE


def _percent(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else NOT_AVAILABLE


def _bytes(value: Any) -> str:
    return human_bytes(int(value)) if isinstance(value, int | float) else NOT_AVAILABLE


def _count(value: Any) -> str:
    return str(value) if isinstance(value, int) else NOT_AVAILABLE


def allot_rows(sizes: list[int], budget: int) -> list[int | None]:
    """Lines for each watcher's processes when `budget` lines remain for the process table body:
    each shown watcher takes one heading line; None means not even its heading fits (the table then
    ends with one "more watchers" line). Process lines go round-robin, so a big watcher cannot hide the
    small ones. A watcher given fewer lines than it has processes shows "... N more" on its last."""
    headings = len(sizes) if budget >= len(sizes) else max(0, budget - 1)
    lines: list[int | None] = [0] * headings + [None] * (len(sizes) - headings)
    left = budget - headings - (1 if headings < len(sizes) else 0)
    while left > 0:
        progressed = False
        for i in range(headings):
            count = lines[i]
            if left > 0 and count is not None and count < sizes[i]:
                lines[i] = count + 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return lines


def _lines(text: str, width: int) -> int:
    return max(1, -(-len(text) // max(1, width)))


def render(
    state: TopState | States,
    view: View,
    *,
    now: float,
    endpoint: str,
    height: int,
    width: int = 120,
    problem: str | None = None,
) -> RenderableType:
    """The whole screen, fitted to `height` lines: the sockets table goes first when space is short,
    the key line always stays. Given a fleet's states by node, tables get a NODE column and `view.node`
    filters them."""
    states = as_states(state)
    fleet = any(states)
    shown = {n: s for n, s in states.items() if view.node in (None, n)}
    intervals = [s.interval_s for s in shown.values() if s.interval_s]
    heard = [s.last_message_at for s in shown.values() if s.last_message_at is not None]
    interval = f"every {intervals[0]:.1f}s" if intervals else "waiting for a sample"
    age = f", updated {now - max(heard):.1f}s ago" if heard else ""
    title = Text.assemble(("circus-top ", "bold"), f"{endpoint}  ({interval}{age})")
    head: list[RenderableType] = [_one_line(title), _one_line(_circus_line(shown, fleet))]
    used = 2 + 2 + 1  # title, circus line, process table heading and rule, key line
    if problem:
        head.append(Text(problem, style="bold red"))
        used += sum(_lines(line, width) for line in problem.splitlines())
    sockets_table = _sockets_table(shown, fleet)
    socket_count = sum(len(s.sockets) for s in shown.values())
    watcher_count = sum(len(s.watchers) for s in shown.values())
    if sockets_table is not None and height - used - (socket_count + 2) >= min(4, watcher_count):
        head.append(sockets_table)
        used += socket_count + 2
    filt = view.watcher or "all watchers"
    if fleet:
        filt += ", " + (f"node {view.node}" if view.node else "all nodes")
    keys = Text.assemble(
        ("q", "bold"),
        " quit  ",
        ("c", "bold"),
        " CPU  ",
        ("m", "bold"),
        " memory  ",
        ("w", "bold"),
        " next watcher  ",
        *((("n", "bold"), " next node  ") if fleet else ()),
        ("a", "bold"),
        " all    ",
        (f"sorted by {'CPU' if view.sort == 'cpu' else 'memory'}, {filt}", "dim"),
    )
    return Group(*head, _process_table(shown, view, max(0, height - used), fleet), _one_line(keys))


def _one_line(text: Text) -> Text:
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def _circus_line(states: States, fleet: bool) -> Text:
    items = []
    for node, state in states.items():
        for info, _ in sorted(state.circus.values(), key=lambda v: str(v[0].get("name"))):
            label = f"{node}: " if fleet else ""
            name = info.get("name") or info.get("pid")
            items.append(
                f"{label}{name} pid {info.get('pid')} cpu {_cpu(info.get('cpu'))}% "
                f"rss {_bytes(info.get('rss_bytes'))}"
            )
    return Text("  |  ".join(items) if items else "circusd: no figures yet", style="cyan")


def _sockets_table(states: States, fleet: bool) -> Table | None:
    if not any(s.sockets for s in states.values()):
        return None
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
    headings = [
        ("SOCKET", "left"),
        ("ADDRESS", "left"),
        ("QUEUE", "right"),
        ("BACKLOG", "right"),
        ("NEW", "right"),
        ("ACCEPTED", "right"),
        ("OPEN", "right"),
        ("DROPPED", "right"),
    ]
    for heading, justify in [("NODE", "left")] * fleet + headings:
        table.add_column(heading, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
    for node, state in states.items():
        for fd in sorted(state.sockets):
            info, _ = state.sockets[fd]
            queue = info.get("queue")
            table.add_row(
                *([node] if fleet else []),
                str(info.get("name") or fd),
                str(info.get("address")),
                Text(_count(queue), style="bold red" if isinstance(queue, int) and queue > 0 else ""),
                _count(info.get("backlog")),
                _count(info.get("reads")),
                _count(info.get("accepted")),
                _count(info.get("connections")),
                _count(info.get("dropped")),
            )
    return table


def _process_table(states: States, view: View, budget: int, fleet: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
    if fleet:
        table.add_column("NODE", no_wrap=True)
    table.add_column("WATCHER / PID", no_wrap=True)
    table.add_column("CPU%", justify="right", no_wrap=True)
    table.add_column("RSS", justify="right", no_wrap=True)
    table.add_column("MEM%", justify="right", no_wrap=True)
    table.add_column("AGE", justify="right", no_wrap=True)
    table.add_column("COMMAND", no_wrap=True, overflow="ellipsis", ratio=1)
    lead: list[str] = [""] if fleet else []
    keys = [(n, w) for n, s in states.items() for w in s.watchers if view.watcher in (None, w)]
    keys.sort(key=lambda k: (-_watcher_key(view.sort, states[k[0]].watchers[k[1]]), k))
    rows = [
        sorted(
            (i for i, _ in states[n].watchers[w].processes.values()), key=lambda i: -sort_key(view.sort, i)
        )
        for n, w in keys
    ]
    allotted = allot_rows([len(r) for r in rows], budget)
    hidden = 0
    for (node, name), infos, lines in zip(keys, rows, allotted, strict=True):
        if lines is None:
            hidden += 1
            continue
        totals = states[node].watchers[name].totals
        table.add_row(
            *([Text(node, style="bold")] if fleet else []),
            Text(f"{name} ({len(infos)})", style="bold"),
            Text(_cpu(totals.get("cpu_total", totals.get("cpu"))), style="bold"),
            Text(_bytes(totals.get("rss_bytes")), style="bold"),
            Text(_percent(totals.get("mem")), style="bold"),
            Text(format_age(totals.get("age")), style="bold"),
            "",
        )
        cut = lines < len(infos)
        for info in infos[: max(0, lines - 1) if cut else lines]:
            table.add_row(
                *lead,
                f"  {info.get('pid')}",
                _cpu(info.get("cpu")),
                _bytes(info.get("rss_bytes")),
                _percent(info.get("mem")),
                format_age(info.get("age")),
                str(info.get("cmdline", "")),
            )
        if cut and lines > 0:
            shown = lines - 1
            table.add_row(*lead, Text(f"  ... {len(infos) - shown} more", style="dim"), "", "", "", "", "")
    if hidden:
        table.add_row(*lead, Text(f"... {hidden} more watchers (w filters)", style="dim"), "", "", "", "", "")
    if not keys and budget > 0:
        table.add_row(*lead, Text("no watcher figures yet", style="dim"), "", "", "", "", "")
    return table


def describe_silence(
    endpoint: str, state: TopState, now: float, started_at: float, connected: bool | None = None
) -> str | None:
    """What to tell the operator when the stream is not (or no longer) arriving; None if it is.
    `connected`: what the socket monitor says (None: nothing yet, False: refused or lost)."""
    interval = state.interval_s or 1.0
    patience = max(3.0, 3 * interval)
    if state.last_message_at is not None:
        quiet = now - state.last_message_at
        if quiet <= patience:
            return None
        lost = " (connection lost)" if connected is False else ""
        return f"no statistics for {quiet:.0f}s from {endpoint}{lost}: circusd-stats stopped? (q quits)"
    waited = now - started_at
    path = endpoint[len("ipc://") :] if endpoint.startswith("ipc://") else None
    if path is not None and not os.path.exists(path):
        return (
            f"cannot reach the stats endpoint: {path} does not exist. Is circusd running with "
            "statsd = true, and is this its stats_endpoint (--endpoint)? (q quits)"
        )
    if connected is False:
        return (
            f"cannot connect to the stats endpoint {endpoint} (refused; retrying). Is circusd running with "
            "statsd = true, and is this its stats_endpoint (--endpoint)? (q quits)"
        )
    if waited <= patience:
        return None
    return (
        f"no statistics from {endpoint} after {waited:.0f}s: is circusd running with statsd = true, and is "
        "this its stats_endpoint (--endpoint)? (q quits)"
    )
