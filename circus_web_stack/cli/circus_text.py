"""Replies as Circus 0.19's circusctl prints them, byte for byte: what deploy scripts parse
(`list web` as `pid,pid`, `get` as `key: value`, `listsockets` as `fd:socket 'name' at host:port`).

Rule: pure, and faithful to Circus's console_msg of each command (circus/commands/*.py), quirks
included: values are Python's str() of the decoded JSON (`True`, `['a']`), keys come in the
reply's order, `env` is `K=V,K=V`. A test runs Circus's own circusctl beside ours on one daemon.
"""

from __future__ import annotations

from collections.abc import Callable

from circus_web_stack.cli.render import render_reply

# circus/commands/stats.py's _INFOLINE
_INFOLINE = "%(pid)s  %(cmdline)s %(username)s %(nice)s %(mem_info1)s %(mem_info2)s %(cpu)s %(mem)s %(ctime)s"


def render_circus_text(command: str, reply: dict) -> str:
    """Circus's text of a successful reply to `command` (`ok` for those it shows no more of)."""
    return RENDERERS.get(command, lambda reply: "ok")(reply)


def _convert_opt(key: str, value: object) -> str:
    # circus.util.convert_opt
    if key == "env":
        if not value or not isinstance(value, dict):
            return ""
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return "" if value is None else str(value)


def _options(reply: dict) -> str:
    return "\n".join(f"{k}: {_convert_opt(k, v)}" for k, v in reply.get("options", {}).items())


def _list(reply: dict) -> str:
    if "pids" in reply:
        return ",".join(str(pid) for pid in reply["pids"])
    return ",".join(reply.get("watchers", []))


def _listsockets(reply: dict) -> str:
    lines = []
    for sock in reply.get("sockets", []):
        where = sock["path"] if "path" in sock else f"{sock['host']}:{int(sock['port'])}"
        lines.append(f"{int(sock['fd'])}:socket '{sock['name']}' at {where}")
    return "\n".join(lines)


def _status(reply: dict) -> str:
    statuses = reply.get("statuses")
    if isinstance(statuses, dict):
        return "\n".join(f"{name}: {statuses[name]}" for name in sorted(statuses))
    return str(reply.get("status"))


def _scaled(reply: dict) -> str:
    if "singleton" in reply:
        return "This watcher is a Singleton - not changing the number of processes"
    return str(reply.get("numprocesses", "ok"))


def _info_lines(info: object, indent: str) -> str:
    if not isinstance(info, dict):
        return str(info)
    lines = [_INFOLINE % info]
    lines += [indent + _INFOLINE % child for child in info.get("children", [])]
    return "\n".join(lines)


def _stats(reply: dict) -> str:
    if "name" in reply:
        lines = [f"{reply['name']}:"]
        lines += [f"{pid}: {_info_lines(info, '   ')}" for pid, info in reply.get("info", {}).items()]
        return "\n".join(lines)
    if "infos" in reply:
        lines = []
        for watcher, infos in reply["infos"].items():
            lines.append(f"{watcher}:")
            lines += [f"{pid}: {_info_lines(info, '   ')}" for pid, info in (infos or {}).items()]
        return "\n".join(lines)
    return f"{reply['process']}: {_info_lines(reply['info'], '   ')}\n"


def _dstats(reply: dict) -> str:
    info = dict(reply["info"])
    children = info.pop("children", [])
    lines = ["Main Process:", "    " + _INFOLINE % info]
    if children:
        lines += ["Children:", *("    " + _INFOLINE % child for child in children)]
    return "\n".join(lines)


def _field(name: str) -> Callable[[dict], str]:
    return lambda reply: str(reply.get(name))


RENDERERS: dict[str, Callable[[dict], str]] = {
    "list": _list,
    "listsockets": _listsockets,
    "status": _status,
    "incr": _scaled,
    "decr": _scaled,
    "numprocesses": _field("numprocesses"),
    "numwatchers": _field("numwatchers"),
    "stats": _stats,
    "dstats": _dstats,
    "options": _options,
    "get": _options,
    "globaloptions": _options,
    # Not a Circus command: there is no Circus text to keep, so it prints our table.
    "processes": lambda reply: render_reply("processes", reply),
}
