"""Runs the console: one DaemonView per daemon (a fleet's nodes each with their own keys), the WSGI
app, our gevent HTTP server on the listener, until SIGTERM (graceful) or SIGINT."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass

from chaussette_compat.backends import ServeContext
from chaussette_compat.backends.gevent_server import GeventServer
from chaussette_compat.options import Options
from circus_web_stack.client.daemon import CurveKeys
from circus_web_stack.web.app import ConsoleApp, Credentials
from circus_web_stack.web.channel import Channel
from circus_web_stack.web.live import DaemonView

# Each browser holds one live stream open: the pool bounds the browsers, not the requests.
MAX_CONNECTIONS = 256


@dataclass(frozen=True)
class Target:
    """One daemon the console shows: its control endpoint, its keys, its node name in a fleet."""

    endpoint: str
    curve: CurveKeys | None = None
    node: str | None = None


def serve(
    listener: socket.socket,
    targets: list[Target],
    secret: bytes,
    password_hash: str | None,
    readonly_password_hash: str | None,
    token: str | None,
) -> int:
    channel = Channel()
    daemons = [DaemonView(i, t.endpoint, channel, curve=t.curve, node=t.node) for i, t in enumerate(targets)]
    for daemon in daemons:
        daemon.start()
    app = ConsoleApp(daemons, channel, Credentials(password_hash, readonly_password_hash, token), secret)
    # A stopping console has nothing to finish: live streams never end by themselves.
    options = Options(spawn=MAX_CONNECTIONS, graceful_timeout_s=1.0)
    context = ServeContext(log_stream=sys.stderr, on_ready=lambda: None, on_stopping=lambda: None)
    try:
        return GeventServer(app, listener, options, context).serve()
    finally:
        for daemon in daemons:
            daemon.stop()
