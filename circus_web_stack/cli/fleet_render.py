"""A fleet command's results as text: one table with a NODE column for `status`, `list`, `stats` and
`listsockets`, a NODE / RESULT table for any other command, or JSON keyed by node; what went wrong on
each failed node (for stderr); and the exit code.

Rule: pure (results in, text out). A node that failed still gets its row, saying DOWN, SLOW or ERROR,
so a glance at the table shows every chosen node; the reason is on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from circus_web_stack.cli.circus_text import render_circus_text
from circus_web_stack.cli.exit_codes import EXIT_ERROR_REPLY, EXIT_OK, EXIT_UNREACHABLE
from circus_web_stack.cli.render import (
    SOCKETS_HEADERS,
    SOCKETS_RIGHT,
    STATS_HEADERS,
    STATS_RIGHT,
    render_error,
    render_reply,
    render_table,
    socket_rows,
    stats_rows,
)
from circus_web_stack.client.fleet_results import NodeResult, NodeState, Results


def render_fleet_json(results: Results, *, pretty: bool = False) -> str:
    data = {"nodes": {name: result.as_json() for name, result in results.items()}}
    return json.dumps(data, indent=2 if pretty else None, sort_keys=pretty)


def render_fleet(command: str, results: Results, *, table: bool = False) -> str:
    """The table of `command`'s results, a row (or more) per node."""
    if command == "status":
        return _status(results)
    if command == "list":
        return _list(results)
    if command == "stats":
        return _wide(results, STATS_HEADERS, stats_rows, tuple(i + 1 for i in STATS_RIGHT))
    if command == "listsockets":
        rows_of = lambda reply: socket_rows(reply.get("sockets", []))  # noqa: E731
        return _wide(results, SOCKETS_HEADERS, rows_of, tuple(i + 1 for i in SOCKETS_RIGHT))
    rows: list[list[object]] = []
    for name, result in results.items():
        if result.ok and result.reply is not None:
            text = render_reply(command, result.reply) if table else render_circus_text(command, result.reply)
        elif result.reply is not None:
            text = render_error(result.reply)
        else:
            text = f"{result.state.value.upper()}: {result.reason}"
        lines = text.splitlines() or [""]
        rows.append([name, lines[0]])
        rows.extend(["", line] for line in lines[1:])
    return render_table(("NODE", "RESULT"), rows)


def _failed_cell(result: NodeResult) -> str:
    return "ERROR" if result.state is NodeState.ERROR else result.state.value.upper()


def _status(results: Results) -> str:
    single = any(r.reply is not None and "statuses" not in r.reply and r.ok for r in results.values())
    rows: list[list[object]] = []
    for name, result in results.items():
        reply = result.reply or {}
        if not result.ok:
            rows.append([name, _failed_cell(result)] if single else [name, "", _failed_cell(result)])
        elif "statuses" in reply:
            rows.extend([name, watcher, state] for watcher, state in sorted(reply["statuses"].items()))
            if not reply["statuses"]:
                rows.append([name, "", "(no watchers)"])
        else:
            rows.append([name, reply.get("status", "")])
    headers = ("NODE", "STATUS") if single else ("NODE", "WATCHER", "STATUS")
    return render_table(headers, rows)


def _list(results: Results) -> str:
    pids = any(r.reply is not None and "pids" in r.reply for r in results.values())
    rows: list[list[object]] = []
    for name, result in results.items():
        reply = result.reply or {}
        if not result.ok:
            rows.append([name, _failed_cell(result)])
        else:
            items = reply.get("pids", reply.get("watchers", []))
            rows.append([name, ",".join(str(i) for i in items)])
    return render_table(("NODE", "PIDS" if pids else "WATCHERS"), rows)


def _wide(
    results: Results,
    headers: tuple[str, ...],
    rows_of: Callable[[dict], list[list[object]]],
    right: tuple[int, ...],
) -> str:
    rows: list[list[object]] = []
    for name, result in results.items():
        if not result.ok or result.reply is None:
            rows.append([name, _failed_cell(result), *[""] * (len(headers) - 1)])
            continue
        node_rows = rows_of(result.reply)
        rows.extend([name if i == 0 else "", *row] for i, row in enumerate(node_rows))
        if not node_rows:
            rows.append([name, *[""] * len(headers)])
    return render_table(("NODE", *headers), rows, right=right)


def problem_lines(results: Results) -> list[str]:
    """One line per failed node: `node web-3 down: could not connect to ... within 5s`."""
    return [
        f"node {name} {result.state.value}: {result.reason}"
        for name, result in results.items()
        if not result.ok
    ]


def fleet_exit_code(results: Results) -> int:
    """Unreachable (a node down or slow) outranks an error reply; 0 only when every node succeeded."""
    states = {r.state for r in results.values()}
    if states & {NodeState.DOWN, NodeState.SLOW}:
        return EXIT_UNREACHABLE
    if NodeState.ERROR in states:
        return EXIT_ERROR_REPLY
    return EXIT_OK
