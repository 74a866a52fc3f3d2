"""The library entry point: `get_arbiter`, with Circus 0.19's signature, building a validated Config
from Python data. Bad options raise ConfigError before anything starts."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from circus_web_stack.config.loader import parse_daemon, parse_socket, parse_watcher
from circus_web_stack.config.model import Config
from circus_web_stack.runtime.arbiter import Arbiter
from circus_web_stack.runtime.daemon import build_arbiter
from circus_web_stack.runtime.threaded import ThreadedArbiter

# Circus's get_arbiter arguments that have no counterpart here, and why.
_NO_EFFECT = {
    "env": "set `env` on each watcher",
    "name": "Circus ignores it too",
    "context": "the daemon makes its own ZeroMQ context",
    "loop": "the arbiter runs on the gevent hub of the thread that starts it",
    "proc_name": "circusd's process title is not changed",
}


def get_arbiter(
    watchers: Sequence[Mapping[str, Any]],
    controller: str | None = None,
    pubsub_endpoint: str | None = None,
    statsd: bool = False,
    stats_endpoint: str | None = None,
    statsd_close_outputs: bool = False,
    multicast_endpoint: str | None = None,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
    context: Any = None,
    background: bool = False,
    stream_backend: str = "thread",
    httpd: bool = False,
    plugins: Sequence[Mapping[str, Any]] | None = None,
    debug: bool = False,
    proc_name: str = "circusd",
    loop: Any = None,
    check_delay: float = 1.0,
    sockets: Sequence[Mapping[str, Any]] = (),
    **daemon_options: Any,
) -> Arbiter | ThreadedArbiter:
    """An Arbiter for `watchers` (dicts of watcher options; `cmd` required, `name` defaults to the
    command's basename, as in Circus). `start()` runs until stopped; inside a gevent program,
    `run_in_background()` returns at once. With `background=True` it is Circus's ThreadedArbiter:
    `start()` runs it in a thread of its own and returns; `stop()` stops it and waits."""
    for key, value in (("env", env), ("name", name), ("context", context), ("loop", loop)):
        if value is not None:
            warnings.warn(f"get_arbiter({key}=...) has no effect: {_NO_EFFECT[key]}", stacklevel=2)
    if proc_name != "circusd":
        warnings.warn(f"get_arbiter(proc_name=...) has no effect: {_NO_EFFECT['proc_name']}", stacklevel=2)
    daemon = parse_daemon(
        {
            "endpoint": controller,
            "pubsub_endpoint": pubsub_endpoint,
            "stats_endpoint": stats_endpoint,
            "statsd": statsd or stats_endpoint is not None,
            "statsd_close_outputs": statsd_close_outputs,
            "multicast_endpoint": multicast_endpoint or "",
            "stream_backend": stream_backend,
            "httpd": httpd,
            "debug": debug,
            "check_delay": check_delay,
            **daemon_options,
        },
        source="get_arbiter()",
    )
    parsed = (parse_socket(s["name"], s, source="get_arbiter(sockets=...)") for s in sockets)
    socket_cfgs = tuple(sorted(parsed, key=lambda s: s.name))
    socket_names = [s.name for s in socket_cfgs]
    watcher_cfgs = []
    for options in watchers:
        opts = dict(options)
        watcher_name = opts.pop("name", None) or os.path.basename(str(opts["cmd"]).split()[0])
        watcher_cfgs.append(parse_watcher(watcher_name, opts, source="get_arbiter()", sockets=socket_names))
    watcher_cfgs.sort(key=lambda w: w.name)
    if plugins:
        warnings.warn("get_arbiter(plugins=...) has no effect yet: plugins are not run", stacklevel=2)
    config = Config(
        daemon=daemon,
        sockets=socket_cfgs,
        watchers=tuple(watcher_cfgs),
        plugins=(),
        path=None,
        warnings=(),
    )
    if background:
        return ThreadedArbiter(lambda: build_arbiter(config))
    return build_arbiter(config)
