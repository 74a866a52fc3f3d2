"""The wsgiref backend: the standard library's serial server (one request at a time, HTTP/1.0 style).

Rule: for development and debugging only; it serves the request in hand before it stops, so the
graceful stop is natural (the signal handler only sets a flag the loop reads between requests).
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from ..exit_codes import EXIT_OK
from ..options import Options
from . import ServeContext
from .middleware import AccessLogMiddleware, ForwardedMiddleware

log = logging.getLogger("chaussette")

#: How long one wait for a connection lasts before the loop looks at the stop flag again.
_POLL_S = 0.2


def prepare(options: Options) -> None:
    """Nothing to patch: wsgiref is serial."""


class _QuietHandler(WSGIRequestHandler):
    """wsgiref's handler without its own stderr log (ours is --access-log), and with its peer's real
    address (Chaussette's printed 0.0.0.0 for inherited sockets)."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("wsgiref: " + format, *args)


class _InheritedSocketServer(WSGIServer):
    """WSGIServer on a socket that is already bound and listening."""

    def __init__(self, listener: socket.socket) -> None:
        self.address_family = listener.family
        super().__init__(("", 0), _QuietHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.server_address = listener.getsockname()
        name = self.server_address
        if isinstance(name, tuple):
            self.server_name = socket.getfqdn(str(name[0]))
            self.server_port = int(name[1])
        else:
            self.server_name = "localhost"
            self.server_port = 0
        self.setup_environ()
        self.timeout = _POLL_S


def serve(app: Callable[..., Any], listener: socket.socket, options: Options, context: ServeContext) -> int:
    listener.setblocking(True)
    unix = listener.family == socket.AF_UNIX
    wrapped: Any = ForwardedMiddleware(app, options.trusted_proxies, unix)
    if options.access_log:
        wrapped = AccessLogMiddleware(wrapped, context.log_stream)
    server = _InheritedSocketServer(listener)
    server.set_app(wrapped)
    if unix:
        # wsgiref's handler reads client_address[0], which is '' for a unix peer
        server.get_request = lambda: (listener.accept()[0], ("", 0))  # type: ignore[method-assign]

    stop = {"graceful": False}

    def request_graceful(signum: int, frame: Any) -> None:
        stop["graceful"] = True

    def request_now(signum: int, frame: Any) -> None:
        raise SystemExit(EXIT_OK)

    previous = {options.stop_signal: signal.signal(options.stop_signal, request_graceful)}
    for sig in options.quick_stop_signals:
        previous[sig] = signal.signal(sig, request_now)
    try:
        context.on_ready()
        while not stop["graceful"]:
            server.handle_request()
        context.on_stopping()
        log.info("%s: stopping after the request in hand", signal.Signals(options.stop_signal).name)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
    return EXIT_OK
