"""Replies as our richer text for people (`circusctl --table`): aligned tables, one pid per line,
started/stopped pids after `ok`; and raw or indented JSON on request.

Rule: pure (reply dict in, str out), one renderer per command that shows more than `ok`. Circus's
own text, which scripts parse and which circusctl prints by default, is cli/circus_text.py's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from circus_web_stack.cli.common import format_age
from circus_web_stack.protocol.stats import NOT_AVAILABLE


def render_json(reply: dict, *, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(reply, indent=2, sort_keys=True)
    return json.dumps(reply)


def render_error(reply: dict) -> str:
    """Circus's one-liner for an error reply."""
    return f"error: {reply.get('reason', 'unknown error')}"


def render_reply(command: str, reply: dict) -> str:
    """The table text of a successful reply to `command`."""
    return RENDERERS.get(command, _render_ok)(reply)


def render_key_values(pairs: dict) -> str:
    """Sorted `key: value` lines with the values aligned (one pair prints exactly `key: value`)."""
    if not pairs:
        return ""
    width = max(len(str(k)) for k in pairs) + 1
    lines = (f"{str(k) + ':':<{width}} {_scalar(pairs[k])}".rstrip() for k in sorted(pairs, key=str))
    return "\n".join(lines)


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Sequence[int] = ()
) -> str:
    """Columns padded to their widest cell; columns listed in `right` are right-aligned (numbers)."""
    cells = [list(headers)] + [[_scalar(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _render_ok(reply: dict) -> str:
    info = reply.get("info")
    if not isinstance(info, dict):
        return "ok"
    lines = ["ok"]
    for key in ("started", "stopped", "kept"):
        if key in info:
            pids = info[key]
            lines.append(f"  {key}: {' '.join(str(p) for p in pids) if pids else '-'}")
    return "\n".join(lines)


def _render_status(reply: dict) -> str:
    statuses = reply.get("statuses")
    if isinstance(statuses, dict):
        return render_key_values(statuses)
    return _scalar(reply.get("status"))


STATS_HEADERS = ("WATCHER", "PID", "WID", "CPU%", "MEM%", "RSS", "VMS", "AGE", "CPU TIME", "CMD")
STATS_RIGHT = (1, 2, 3, 4, 5, 6, 7, 8)
SOCKETS_HEADERS = ("FD", "NAME", "ADDRESS", "BACKLOG")
SOCKETS_RIGHT = (0, 3)


def _render_stats(reply: dict) -> str:
    return render_table(STATS_HEADERS, stats_rows(reply), right=STATS_RIGHT)


def stats_rows(reply: dict) -> list[list[object]]:
    """The rows of `stats`' table (one per process, children indented under it)."""
    rows: list[list[object]] = []
    if isinstance(reply.get("infos"), dict):
        for watcher in sorted(reply["infos"]):
            _stats_rows(rows, watcher, reply["infos"][watcher])
    elif "process" in reply:
        _process_rows(rows, reply.get("name") or "-", reply.get("info"), depth=0)
    else:
        _stats_rows(rows, reply.get("name", ""), reply.get("info"))
    return rows


def _stats_rows(rows: list[list[object]], watcher: str, infos: object) -> None:
    if not isinstance(infos, dict):
        rows.append([watcher, "", "", "", "", "", "", "", "", _scalar(infos)])
        return
    for pid in sorted(infos, key=_pid_order):
        _process_rows(rows, watcher, infos[pid], depth=0, pid=pid)


def _process_rows(
    rows: list[list[object]], watcher: str, info: object, *, depth: int, pid: object = ""
) -> None:
    if not isinstance(info, dict):
        rows.append([watcher, pid, "", "", "", "", "", "", "", _scalar(info)])
        return
    label = ("  " * depth + "└ " if depth else "") + _scalar(info.get("pid", pid))
    rows.append(
        [
            watcher if depth == 0 else "",
            label,
            info.get("wid", ""),
            info.get("cpu", NOT_AVAILABLE),
            info.get("mem", NOT_AVAILABLE),
            info.get("mem_info1", NOT_AVAILABLE),
            info.get("mem_info2", NOT_AVAILABLE),
            format_age(info.get("age", NOT_AVAILABLE), tenths=True),
            info.get("ctime", NOT_AVAILABLE),
            info.get("cmdline", ""),
        ]
    )
    for child in info.get("children", []) or []:
        _process_rows(rows, watcher, child, depth=depth + 1)


def _render_process_info(info: object) -> str:
    if not isinstance(info, dict):
        return _scalar(info)
    shown = {k: v for k, v in info.items() if k != "children"}
    if "age" in shown:
        shown["age"] = format_age(shown["age"], tenths=True)
    text = render_key_values(shown)
    children = info.get("children") or []
    if children:
        text += "\nchildren: " + " ".join(
            _scalar(c.get("pid") if isinstance(c, dict) else c) for c in children
        )
    return text


def _render_sockets(sockets: list) -> str:
    return render_table(SOCKETS_HEADERS, socket_rows(sockets), right=SOCKETS_RIGHT)


def socket_rows(sockets: list) -> list[list[object]]:
    rows: list[list[object]] = []
    for sock in sockets:
        address = sock["path"] if "path" in sock else f"{sock.get('host', '')}:{sock.get('port', '')}"
        rows.append([sock.get("fd", ""), sock.get("name", ""), address, sock.get("backlog", "")])
    return rows


def _render_processes(reply: dict) -> str:
    rows = [
        [
            p.get("pid", ""),
            p.get("wid", ""),
            p.get("state", ""),
            "yes" if p.get("ready") else "no",
            p.get("generation", ""),
        ]
        for p in reply.get("processes", [])
    ]
    return render_table(("PID", "WID", "STATE", "READY", "GENERATION"), rows, right=(0, 1, 4))


def _pid_order(pid: object) -> tuple[int, str]:
    text = str(pid)
    return (int(text), text) if text.isdigit() else (1 << 62, text)


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field(name: str) -> Callable[[dict], str]:
    return lambda reply: _scalar(reply[name]) if name in reply else _render_ok(reply)


def _names(reply: dict) -> str:
    return "\n".join(_scalar(n) for n in reply.get("watchers", reply.get("pids", [])))


def _options(reply: dict) -> str:
    return render_key_values(reply.get("options", {}))


RENDERERS: dict[str, Callable[[dict], str]] = {
    "incr": _field("numprocesses"),
    "decr": _field("numprocesses"),
    "numprocesses": _field("numprocesses"),
    "numwatchers": _field("numwatchers"),
    "list": _names,
    "listsockets": lambda reply: _render_sockets(reply.get("sockets", [])),
    "processes": _render_processes,
    "status": _render_status,
    "stats": _render_stats,
    "dstats": lambda reply: _render_process_info(reply.get("info", {})),
    "options": _options,
    "get": _options,
    "globaloptions": _options,
}
