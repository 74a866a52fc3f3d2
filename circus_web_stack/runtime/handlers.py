"""One function per control command: validated properties in, a reply dict out.

The command table (protocol/commands.py) already checked every property's presence and type; a
handler only acts on the arbiter. Each runs in its own greenlet and may block it (a `stop` waits for
its processes), never the hub.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from circus_web_stack.config.loader import parse_watcher, set_watcher_option
from circus_web_stack.config.options import family_of, is_settable, unknown_watcher_key
from circus_web_stack.core.errors import ClientError, ConfigError, Errno
from circus_web_stack.core.suggest import did_you_mean
from circus_web_stack.protocol.properties import match_names
from circus_web_stack.protocol.stats import process_info
from circus_web_stack.runtime.endpoints import owner_uid
from circus_web_stack.runtime.watcher import Watcher

Props = dict[str, Any]
Handler = Callable[[Any, Props], Any]

HANDLERS: dict[str, Handler] = {}
# Checks that run before any reply, so that the immediate "ok" of a command sent without `waiting`
# never hides bad input (Circus validates before replying too).
CHECKS: dict[str, Handler] = {}
# Commands whose reply goes out before the work: `quit` closes the very socket it would answer on.
REPLY_FIRST = frozenset({"quit"})


def _registrar(table: dict[str, Handler], name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if name in table:  # a second function for one command would silently replace the first
            raise ValueError(f"{name} already has {table[name].__name__}; {fn.__name__} is a second one")
        table[name] = fn
        return fn

    return register


def handles(name: str) -> Callable[[Handler], Handler]:
    """Register the one handler of command `name` (a row of protocol/commands.py; a test ties them)."""
    return _registrar(HANDLERS, name)


def checks(name: str) -> Callable[[Handler], Handler]:
    return _registrar(CHECKS, name)


def precheck(arbiter: Any, command: str, props: Props) -> None:
    """Raise ClientError for input that can be refused at once: an unknown watcher, bad options."""
    check = CHECKS.get(command)
    if check is not None:
        check(arbiter, props)
    elif props.get("name") is not None:
        _matched(arbiter, props)


def _matched(arbiter: Any, props: Props) -> list[Watcher]:
    """The watchers `name` selects with `match` (glob by default, case-insensitive)."""
    names = match_names(props["name"], sorted(w.name for w in arbiter.watchers), props.get("match", "glob"))
    if not names:  # the name as it is (`a[1]` is no glob of itself), or "not found" with the nearest name
        return [arbiter.get_watcher(props["name"])]
    return [arbiter.get_watcher(n) for n in names]


def _each(arbiter: Any, props: Props, action: Callable[[Watcher], dict]) -> dict:
    watchers = _matched(arbiter, props)
    results = [action(w) for w in watchers]
    return (
        {"info": results[0]}
        if len(results) == 1
        else {"info": dict(zip((w.name for w in watchers), results, strict=True))}
    )


# ------------------------------------------------------------------- watchers


def _add_config(arbiter: Any, props: Props) -> Any:
    options = dict(props.get("options") or {})
    owner = owner_uid(arbiter.config)
    if owner is not None:
        # Circus's rule: over an owned ipc endpoint, added watchers run as the endpoint's owner.
        if "uid" in options and str(options["uid"]) not in (
            str(owner),
            str(arbiter.config.daemon.endpoint_owner),
        ):
            raise ClientError(f"uid must be the endpoint owner {arbiter.config.daemon.endpoint_owner!r}")
        options["uid"] = owner
    options["cmd"] = props["cmd"]
    if props.get("args") is not None:
        options["args"] = props["args"]
    try:
        cfg = parse_watcher(props["name"], options, source="add command", sockets=list(arbiter.sockets.fds()))
    except ConfigError as exc:
        raise ClientError(str(exc), Errno.MESSAGE_ERROR) from exc
    if arbiter.find_watcher(cfg.name) is not None:
        raise ClientError(f"a watcher named {cfg.name!r} already exists", Errno.MESSAGE_ERROR)
    return cfg


@checks("add")
def check_add(arbiter: Any, props: Props) -> None:
    _add_config(arbiter, props)


@handles("add")
def add(arbiter: Any, props: Props) -> dict:
    arbiter.add_watcher_config(_add_config(arbiter, props), start=bool(props.get("start")))
    return {}


@handles("rm")
def rm(arbiter: Any, props: Props) -> dict:
    for watcher in _matched(arbiter, props):
        arbiter.rm_watcher(watcher.name, nostop=bool(props.get("nostop")))
    return {}


@handles("start")
def start(arbiter: Any, props: Props) -> dict:
    if props.get("name") is None:
        arbiter.start_watchers()
        return {}
    return _each(arbiter, props, lambda w: w.start())


@handles("stop")
def stop(arbiter: Any, props: Props) -> dict:
    if props.get("name") is None:
        arbiter.stop_watchers()
        return {}
    return _each(arbiter, props, lambda w: w.stop())


@handles("restart")
def restart(arbiter: Any, props: Props) -> dict:
    if props.get("name") is None:
        arbiter.restart()
        return {}
    return _each(arbiter, props, lambda w: w.restart())


@handles("reload")
def reload(arbiter: Any, props: Props) -> dict:
    graceful = bool(props.get("graceful", True))
    sequential = bool(props.get("sequential", False))
    if props.get("name") is None:
        arbiter.reload(graceful=graceful, sequential=sequential)
        return {}
    return _each(arbiter, props, lambda w: w.reload(graceful=graceful, sequential=sequential))


@handles("reloadconfig")
def reloadconfig(arbiter: Any, props: Props) -> dict:
    return {"changes": arbiter.reload_config()}


@handles("saveoverlay")
def saveoverlay(arbiter: Any, props: Props) -> dict:
    from circus_web_stack.runtime.overlay import OverlayWriter

    writer = next((e for e in arbiter.extensions if isinstance(e, OverlayWriter)), None)
    if writer is None:
        raise ClientError("[circus] overlay is off: set it to manual or auto to keep run-time changes")
    try:
        return {"overlay": writer.save()}
    except (ConfigError, OSError) as exc:
        raise ClientError(f"could not write the overlay: {exc}", Errno.COMMAND_ERROR) from exc


def _scaled(watcher: Watcher, count: int) -> dict:
    """The reply once the change took effect: new processes ready, removed ones gone (bounded)."""
    watcher.wait_settled(watcher.config.ready_timeout + watcher.config.graceful_timeout)
    reply: dict[str, Any] = {"numprocesses": count}
    if watcher.config.singleton:
        reply["singleton"] = True
    return reply


@handles("incr")
def incr(arbiter: Any, props: Props) -> dict:
    watcher = arbiter.get_watcher(props["name"])
    return _scaled(watcher, watcher.incr(int(props.get("nb", 1))))


@handles("decr")
def decr(arbiter: Any, props: Props) -> dict:
    watcher = arbiter.get_watcher(props["name"])
    return _scaled(watcher, watcher.decr(int(props.get("nb", 1))))


@handles("numprocesses")
def numprocesses(arbiter: Any, props: Props) -> dict:
    if props.get("name") is None:
        return {"numprocesses": arbiter.numprocesses()}
    watcher = arbiter.get_watcher(props["name"])
    return {"numprocesses": len(watcher), "watcher_name": watcher.name}


@handles("numwatchers")
def numwatchers(arbiter: Any, props: Props) -> dict:
    return {"numwatchers": arbiter.numwatchers()}


@handles("list")
def list_(arbiter: Any, props: Props) -> dict:
    if props.get("name") is None:
        return {"watchers": sorted(w.name for w in arbiter.watchers)}
    return {"pids": arbiter.get_watcher(props["name"]).pids()}


@handles("processes")
def processes(arbiter: Any, props: Props) -> dict:
    watcher = arbiter.get_watcher(props["name"])
    procs = sorted(watcher.processes.values(), key=lambda p: (p.wid, p.pid))
    return {
        "processes": [
            {
                "pid": p.pid,
                "wid": p.wid,
                "state": p.state.value,
                "ready": p.ready,
                "started": p.started,
                "generation": p.generation,
            }
            for p in procs
        ]
    }


@handles("listsockets")
def listsockets(arbiter: Any, props: Props) -> dict:
    return {"sockets": [s.info() for s in arbiter.sockets]}


@handles("status")
def status(arbiter: Any, props: Props) -> dict:
    if props.get("name") is None:
        return {"statuses": arbiter.statuses()}
    return {"status": arbiter.get_watcher(props["name"]).status()}


# ------------------------------------------------------------------- stats


def _watcher_infos(arbiter: Any, watcher: Watcher, extended: bool) -> dict[str, dict]:
    procs = list(watcher.processes.values())
    samples = arbiter.sampler.sample_many(p.pid for p in procs)
    now = time.time()
    infos = {}
    for proc in procs:
        info = process_info(samples[proc.pid], now=now, started=proc.started, wid=proc.wid)
        if extended:
            watcher.run_extended_stats_hook(proc.pid, info)
        infos[str(proc.pid)] = info
    return infos


@handles("stats")
def stats(arbiter: Any, props: Props) -> dict:
    extended = bool(props.get("extended"))
    name = props.get("name")
    if name is None:
        return {"infos": {w.name: _watcher_infos(arbiter, w, extended) for w in arbiter.watchers}}
    watcher = arbiter.get_watcher(name)
    pid = props.get("process")
    if pid is not None:
        proc = watcher.processes.get(int(pid))
        if proc is None:
            raise ClientError(f"process {pid} not found in watcher {watcher.name!r}", Errno.MESSAGE_ERROR)
        sample = arbiter.sampler.sample_many([proc.pid])[proc.pid]
        return {
            "process": proc.pid,
            "info": process_info(sample, now=time.time(), started=proc.started, wid=proc.wid),
        }
    return {"name": watcher.name, "info": _watcher_infos(arbiter, watcher, extended)}


@handles("dstats")
def dstats(arbiter: Any, props: Props) -> dict:
    pid = os.getpid()
    sample = arbiter.sampler.sample_many([pid], with_children=False)[pid]
    return {"info": process_info(sample, now=time.time())}


# ------------------------------------------------------------------- options


@handles("options")
def options(arbiter: Any, props: Props) -> dict:
    return {"options": arbiter.get_watcher(props["name"]).option_values()}


@checks("get")
def check_get(arbiter: Any, props: Props) -> None:
    get(arbiter, props)


@handles("get")
def get(arbiter: Any, props: Props) -> dict:
    values = arbiter.get_watcher(props["name"]).option_values()
    found = {key: _option_value(values, key) for key in props["keys"]}
    missing = [key for key, value in found.items() if value is _UNKNOWN]
    if missing:
        named = ", ".join(f"{key!r}{did_you_mean(key, values)}" for key in missing)
        raise ClientError(f"unknown option(s) {named}", Errno.MESSAGE_ERROR)
    return {"options": found}


_UNKNOWN = object()


def _option_value(values: dict[str, Any], key: str) -> Any:
    """A watcher option's value; a key of a family that `set` takes (stdout_stream.filename, hooks.
    before_start) reads inside the family's dict (None when unset)."""
    if key in values:
        return values[key]
    family = family_of(key)
    member = key[len(family.prefix) :] if family is not None else ""
    if family is not None and member in family.subkeys and isinstance(values.get(family.attribute), dict):
        return values[family.attribute].get(member)
    return _UNKNOWN


@checks("set")
def check_set(arbiter: Any, props: Props) -> None:
    config = arbiter.get_watcher(props["name"]).config
    try:
        for key, value in props["options"].items():
            if not is_settable(key):
                reason = unknown_watcher_key(key) or f"option {key!r} cannot be set at run time"
                raise ClientError(reason, Errno.MESSAGE_ERROR)
            config = set_watcher_option(config, key, value)
    except ConfigError as exc:
        raise ClientError(str(exc), Errno.MESSAGE_ERROR) from exc


@handles("set")
def set_(arbiter: Any, props: Props) -> dict:
    watcher = arbiter.get_watcher(props["name"])
    try:
        watcher.set_options(dict(props["options"]))
    except ConfigError as exc:
        raise ClientError(str(exc), Errno.MESSAGE_ERROR) from exc
    return {}


@handles("globaloptions")
def globaloptions(arbiter: Any, props: Props) -> dict:
    values = arbiter.global_options()
    key = props.get("option")
    if key is not None:
        if key not in values:
            valid = ", ".join(sorted(values))
            raise ClientError(f"unknown global option {key!r}{did_you_mean(key, values)} (valid: {valid})")
        return {"options": {key: values[key]}}
    return {"options": values}


# ------------------------------------------------------------------- signals


@handles("signal")
def signal_(arbiter: Any, props: Props) -> dict:
    watcher = arbiter.get_watcher(props["name"])
    signum = int(props["signum"])
    pid = props.get("childpid") or props.get("pid")
    if props.get("childpid") is not None:
        parent = watcher.processes.get(int(props["pid"])) if props.get("pid") is not None else None
        kids = {c.pid for c in parent.descendants()} if parent else set()
        if int(props["childpid"]) not in kids:
            raise ClientError(f"process {props['childpid']} is not a child of {props.get('pid')}")
        os.kill(int(props["childpid"]), signum)
        return {}
    watcher.send_signal(
        signum,
        pid=None if pid is None else int(pid),
        children=bool(props.get("children")),
        recursive=bool(props.get("recursive")),
    )
    return {}


@handles("kill")
def kill(arbiter: Any, props: Props) -> dict:
    watcher = arbiter.get_watcher(props["name"])
    pid = props.get("pid")
    timeout = props.get("graceful_timeout")
    watcher.kill(
        pid=None if pid is None else int(pid),
        signum=None if props.get("signum") is None else int(props["signum"]),
        graceful_timeout=None if timeout is None else float(timeout),
    )
    return {}


@handles("quit")
def quit_(arbiter: Any, props: Props) -> dict:
    arbiter.stop()
    return {}
