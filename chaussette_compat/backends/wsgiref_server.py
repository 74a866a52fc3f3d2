"""The wsgiref backend: the standard library's serial server (one request at a time, HTTP/1.0 style).

Rule: for development and debugging only; it serves the request in hand before it stops, so the
graceful stop is natural (the signal handler only sets a flag the loop reads between requests).
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from time import time
from typing import Any, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from ..exit_codes import EXIT_OK
from ..http.access_log import TimestampCache, common_log_line
from ..http.errors import HTTPError
from ..http.limits import Limits
from ..http.rules import check_raw_head, check_request_line
from ..options import Options
from . import ServeContext
from .middleware import wrap_app

log = logging.getLogger("chaussette")

#: How long one wait for a connection lasts before the loop looks at the stop flag again.
_POLL_S = 0.2


def prepare(options: Options) -> None:
    """Nothing to patch: wsgiref is serial."""


class _QuietHandler(WSGIRequestHandler):
    """wsgiref's handler without its own stderr log (ours is --access-log), with its peer's real
    address (Chaussette's printed 0.0.0.0 for inherited sockets), and our RFC rules and limits applied
    to each head once wsgiref has parsed it (`http.rules.check_raw_head`)."""

    server: _InheritedSocketServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("wsgiref: " + format, *args)

    def parse_request(self) -> bool:
        try:
            check_request_line(self.raw_requestline.rstrip(b"\r\n"), self.server.limits)
        except HTTPError as err:
            # wsgiref would answer a line it cannot read HTTP/0.9-style: no status line at all
            self.request_version = "HTTP/1.0"
            self.command = ""
            self.requestline = self.raw_requestline.rstrip(b"\r\n").decode("latin-1")
            self.close_connection = True
            self.send_error(int(err.status[:3]), err.status[4:], err.reason)
            return False
        if not super().parse_request():
            return False
        lines = [self.raw_requestline.rstrip(b"\r\n")]
        lines += [f"{name}: {value}".encode("latin-1", "replace") for name, value in self.headers.items()]
        try:
            check_raw_head(b"\r\n".join(lines), self.server.limits, decodes_chunked=False)
        except HTTPError as err:
            self.send_error(int(err.status[:3]), err.status[4:], err.reason)
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every refusal, ours or wsgiref's own, goes to the access log with its reason."""
        refusal_log = self.server.refusal_log
        if refusal_log is not None:
            why = explain or message or str(code)
            stamp = self.server.timestamps.text(time())
            refusal_log.write(
                common_log_line(str(self.client_address[0]), "-", "-", "-", code, 0, stamp, why)
            )
        super().send_error(code, message, explain)


class _InheritedSocketServer(WSGIServer):
    """WSGIServer on a socket that is already bound and listening."""

    def __init__(self, listener: socket.socket, limits: Limits, refusal_log: TextIO | None) -> None:
        self.limits = limits
        self.refusal_log = refusal_log
        self.timestamps = TimestampCache()
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
    wrapped = wrap_app(app, options, context.log_stream, context.requests, unix_listener=unix)
    server = _InheritedSocketServer(
        listener, options.limits, context.log_stream if options.access_log else None
    )
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
