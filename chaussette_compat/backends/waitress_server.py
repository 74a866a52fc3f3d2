"""The waitress backend: waitress's own HTTP server on the socket we hand it (Chaussette's broke with
waitress 1.0, chaussette#82), with a graceful stop waitress itself lacks.

Rule: waitress is used only through its public create_server(sockets=[...]) API and its channel and
parser classes (`waitress_checks.py` puts our RFC rules and limits in front of its parser); our loop
drives its asyncore map so the stop signal can stop accepting, close idle channels and wait for busy ones.
Waitress forbids apps from sending `Connection: close`, so draining channels are closed once their
response is flushed instead.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from time import monotonic
from typing import Any

from ..exit_codes import EXIT_OK
from ..listener import DEFAULT_BACKLOG
from ..options import Options
from . import ServeContext
from .middleware import wrap_app
from .waitress_checks import checked_channel_class

log = logging.getLogger("chaussette")

DEFAULT_THREADS = 4
#: How often the loop looks at the stop flag (a signal handler only sets it: see `_Stopper`).
_LOOP_TICK_S = 0.1


def prepare(options: Options) -> None:
    """Nothing to patch: waitress uses threads."""


class _Stopper:
    """Signal handlers only record what was asked; the loop acts on it between polls."""

    def __init__(self) -> None:
        self.graceful = False
        self.now = False

    def request_graceful(self, signum: int, frame: Any) -> None:
        self.graceful = True

    def request_now(self, signum: int, frame: Any) -> None:
        self.now = True


def _channels(server: Any) -> list[Any]:
    return [channel for channel in list(server._map.values()) if hasattr(channel, "requests")]


def _is_busy(channel: Any) -> bool:
    """A request queued, half-parsed or being answered, or request bytes not yet read."""
    if channel.requests or channel.total_outbufs_len or getattr(channel, "request", None) is not None:
        return True
    try:
        return bool(channel.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False
    except OSError:
        return False


def serve(app: Callable[..., Any], listener: socket.socket, options: Options, context: ServeContext) -> int:
    from waitress import wasyncore
    from waitress.server import create_server

    # waitress's own warnings (queue depth, connection limit) go where ours go, at our level
    waitress_log = logging.getLogger("waitress")
    waitress_log.handlers[:] = log.handlers
    waitress_log.setLevel(log.level)
    waitress_log.propagate = False

    unix = listener.family == socket.AF_UNIX
    wrapped = wrap_app(app, options, context.log_stream, context.requests, unix_listener=unix)
    limits = options.limits
    kwargs: dict[str, Any] = {
        "sockets": [listener],
        "threads": options.spawn or DEFAULT_THREADS,
        "channel_timeout": options.keepalive_timeout_s,
        "cleanup_interval": max(1, int(options.keepalive_timeout_s)),
        "max_request_header_size": limits.max_head_bytes,
        "max_request_body_size": limits.max_body_size or 2**62,
        "ident": "chaussette-compat",
        "asyncore_use_poll": True,
        # waitress always calls listen() again, so an inherited socket gets this queue length too
        "backlog": options.listen.backlog or DEFAULT_BACKLOG,
    }
    socket_map: dict[int, Any] = {}
    server = create_server(wrapped, map=socket_map, **kwargs)
    server.channel_class = checked_channel_class(limits, context.log_stream if options.access_log else None)

    stopper = _Stopper()
    previous = {options.stop_signal: signal.signal(options.stop_signal, stopper.request_graceful)}
    for sig in options.quick_stop_signals:
        previous[sig] = signal.signal(sig, stopper.request_now)
    try:
        context.on_ready()
        while not (stopper.graceful or stopper.now):
            wasyncore.loop(timeout=_LOOP_TICK_S, map=socket_map, use_poll=True, count=1)
        if stopper.now:
            log.info("stopping at once")
        else:
            _drain(server, socket_map, options, context, stopper, wasyncore)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
    return EXIT_OK


def _drain(
    server: Any,
    socket_map: dict[int, Any],
    options: Options,
    context: ServeContext,
    stopper: _Stopper,
    wasyncore: Any,
) -> None:
    context.on_stopping()
    server.accepting = False
    server.del_channel()
    server.socket.close()
    deadline = monotonic() + options.graceful_timeout_s
    log.info(
        "%s: stopped accepting; finishing in-flight requests (up to %ss)",
        signal.Signals(options.stop_signal).name,
        options.graceful_timeout_s,
    )
    while True:
        for channel in _channels(server):
            if not _is_busy(channel):
                channel.handle_close()
        busy = [channel for channel in _channels(server) if _is_busy(channel)]
        if not busy:
            log.info("all requests finished; exiting")
            return
        if stopper.now or monotonic() >= deadline:
            log.warning(
                "graceful timeout (%ss): closing %d busy connection(s)", options.graceful_timeout_s, len(busy)
            )
            return
        wasyncore.loop(timeout=_LOOP_TICK_S, map=socket_map, use_poll=True, count=1)
