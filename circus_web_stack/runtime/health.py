"""The health probes: GET /livez and /readyz over HTTP on `health_endpoint`, for Kubernetes or a load
balancer.

Rule: the HTTP side runs in a thread of its own (the stdlib's HTTPServer, one request at a time, each
connection bounded by a timeout), so a slow or garbage client never touches the hub; the answer is read
on the hub (a callback posted with run_callback_threadsafe) and must come back within health_timeout.
Liveness is exactly that: the hub answered in time. Readiness is core.health.readiness of what it read.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import gevent

from circus_web_stack.config.endpoints import split_host_port
from circus_web_stack.core.health import Verdict, WatcherHealth, readiness
from circus_web_stack.core.states import ProcessState
from circus_web_stack.runtime.hub_calls import HubUnanswered, ask_hub

log = logging.getLogger("circus_web_stack.health")

CONNECTION_TIMEOUT_S = 2.0  # a client that sends nothing holds the probe thread at most this long
PATHS = ("/livez", "/readyz")


def watcher_health(arbiter: Any) -> list[WatcherHealth]:
    """Snapshots of every watcher, read on the hub (watcher objects are read, never changed)."""
    snapshots = []
    for watcher in arbiter.iter_watchers():
        states = [p.state for p in watcher.model.processes.values()]
        snapshots.append(
            WatcherHealth(
                watcher.name,
                watcher.state,
                ready=states.count(ProcessState.RUNNING),
                live=states.count(ProcessState.RUNNING) + states.count(ProcessState.STARTING),
                min_ready=watcher.config.min_ready,
                use_sockets=watcher.config.use_sockets,
                on_demand=watcher.config.on_demand,
                autostart=watcher.config.autostart,
            )
        )
    return snapshots


def readiness_of(arbiter: Any) -> Verdict:
    return readiness(arbiter.state, watcher_health(arbiter))


class _ProbeHandler(BaseHTTPRequestHandler):
    server_version = "circusd-health"
    # A request line that is not HTTP still gets a status line (the stdlib would answer it HTTP/0.9-style).
    default_request_version = "HTTP/1.0"
    timeout = CONNECTION_TIMEOUT_S
    probes: HealthServer  # set on the subclass HealthServer makes

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in PATHS:
            self._reply(HTTPStatus.NOT_FOUND, {"error": f"unknown path {path!r}; try {' or '.join(PATHS)}"})
            return
        try:
            verdict = self.probes.ask_hub(lambda arbiter: _verdict(arbiter, path))
        except ProbeUnanswered as exc:
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "fail", "reasons": [str(exc)]})
            return
        status = HTTPStatus.OK if verdict.ok else HTTPStatus.SERVICE_UNAVAILABLE
        self._reply(status, {"status": "ok" if verdict.ok else "fail", "reasons": list(verdict.reasons)})

    do_HEAD = do_GET

    def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("probe from %s: " + format, self.client_address[0], *args)


def _verdict(arbiter: Any, path: str) -> Verdict:
    if path == "/livez":
        return Verdict(True, ())
    return readiness_of(arbiter)


class _HTTPServer6(HTTPServer):
    address_family = socket.AF_INET6


class ProbeUnanswered(Exception):
    """The hub did not answer a probe in time, or answering it failed; str() says which."""


class HealthServer:
    """An arbiter extension serving the probes on `address` (HOST:PORT; port 0 picks one)."""

    def __init__(self, address: str, *, timeout_s: float) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._server: HTTPServer | None = None
        self._arbiter: Any = None
        self._loop: Any = None

    def start(self, arbiter: Any) -> None:
        self._arbiter = arbiter
        self._loop = gevent.get_hub().loop
        handler = type("ProbeHandler", (_ProbeHandler,), {"probes": self})
        host, port = split_host_port(self.address)
        server_class = _HTTPServer6 if ":" in host else HTTPServer
        self._server = server_class((host, port), handler)
        threading.Thread(target=self._server.serve_forever, args=(0.1,), name="health", daemon=True).start()
        bound_host, bound_port = self._server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        log.info("health probes on http://%s:%d/livez and /readyz", shown, bound_port)

    def ask_hub(self, question: Callable[[Any], Verdict]) -> Verdict:
        """Run `question(arbiter)` on the hub and wait for it in this (the probe's) thread."""
        try:
            return ask_hub(self._loop, lambda: question(self._arbiter), self.timeout_s)
        except HubUnanswered as exc:
            timed_out = exc.__cause__ is None
            raise ProbeUnanswered(f"{exc} (health_timeout)" if timed_out else f"{exc}") from exc.__cause__

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # waits for serve_forever's 0.1 s poll at most
            self._server.server_close()
            self._server = None
