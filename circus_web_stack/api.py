"""The library entry point: `get_arbiter`, as Circus's, building a validated Config from Python data."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from circus_web_stack.config.loader import parse_daemon, parse_socket, parse_watcher
from circus_web_stack.config.model import Config
from circus_web_stack.runtime.arbiter import Arbiter
from circus_web_stack.runtime.daemon import build_arbiter


def get_arbiter(
    watchers: Sequence[Mapping[str, Any]],
    controller: str | None = None,
    pubsub_endpoint: str | None = None,
    stats_endpoint: str | None = None,
    sockets: Sequence[Mapping[str, Any]] = (),
    **daemon_options: Any,
) -> Arbiter:
    """An Arbiter for `watchers` (dicts of watcher options; `cmd` required, `name` defaults to the
    command's basename, as in Circus). `start()` runs until stopped; `run_in_background()` returns at
    once inside a gevent program. Bad options raise ConfigError before anything starts."""
    daemon = parse_daemon(
        {
            "endpoint": controller,
            "pubsub_endpoint": pubsub_endpoint,
            "stats_endpoint": stats_endpoint,
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
        name = opts.pop("name", None) or os.path.basename(str(opts["cmd"]).split()[0])
        watcher_cfgs.append(parse_watcher(name, opts, source="get_arbiter()", sockets=socket_names))
    watcher_cfgs.sort(key=lambda w: w.name)
    config = Config(
        daemon=daemon, sockets=socket_cfgs, watchers=tuple(watcher_cfgs), plugins=(), path=None, warnings=()
    )
    return build_arbiter(config)
