"""`metrics_endpoint`: GET /metrics in Prometheus's text format (prometheus_client renders it, with
OpenMetrics and gzip when the scraper asks), served by circusd itself.

Rules: the HTTP side runs in threads of its own, each connection bounded by a timeout, so a scraper
never touches the hub. What only the hub knows is counted there, from what it already produces: the
event stream (restarts, flapping, reloads; ledgers.py), the control endpoint's timings, and the
workers' request reports on the NOTIFY_SOCKET (`X_CIRCUS_REQUESTS`; protocol/request_metrics.py).
A scrape copies those and the process table on the hub (one quick read), then samples /proc and the
listeners off the hub. Nothing is written to disk: no multiprocess files to pile up or to clean after
a SIGKILL. A hub that does not answer within HUB_TIMEOUT_S fails the scrape with 503 (the scraper
records the target as down) rather than serving a partial page.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import gevent
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector, make_wsgi_app
from prometheus_client.core import Metric

from circus_web_stack.config.endpoints import split_host_port
from circus_web_stack.core.errors import SocketBindError
from circus_web_stack.core.notices import EventName
from circus_web_stack.core.states import ProcessState
from circus_web_stack.protocol.request_metrics import FIELD, decode_totals
from circus_web_stack.runtime.hub_calls import HubUnanswered, ask_hub
from circus_web_stack.runtime.metrics.families import (
    MetricsSnapshot,
    ProcessView,
    SocketView,
    WatcherView,
    build_families,
)
from circus_web_stack.runtime.metrics.ledgers import CommandMeter, EventLedger
from circus_web_stack.runtime.metrics.slots import CpuSlots, RequestSlots, Slot
from circus_web_stack.runtime.metrics.sockets import ListenerWatch
from circus_web_stack.runtime.sampling import Sampler
from circus_web_stack.runtime.stats.sockdiag import Listener

log = logging.getLogger("circus_web_stack.metrics")

PATH = "/metrics"
HUB_TIMEOUT_S = 5.0
CONNECTION_TIMEOUT_S = 10.0  # a client that sends nothing holds its thread at most this long


class MetricsServer:
    """An arbiter extension serving /metrics on `address` (HOST:PORT; port 0 picks one). `commands`
    is the meter the control server reports each command's timing to."""

    def __init__(self, address: str, *, commands: CommandMeter) -> None:
        self.address = address
        self.commands = commands
        self.events = EventLedger()
        self.requests = RequestSlots()
        self._cpu = CpuSlots()
        self._cpu_lock = threading.Lock()
        self._sampler = Sampler()
        self._sockets: ListenerWatch | None = None
        self._server: WSGIServer | None = None
        self._arbiter: Any = None
        self._loop: Any = None
        self._bad_reports: set[int] = set()  # pids whose malformed report was logged once

    # ----------------------------------------------------------------- life cycle (on the hub)

    def start(self, arbiter: Any) -> None:
        self._arbiter = arbiter
        self._loop = gevent.get_hub().loop
        arbiter.event_listeners.append(self.on_event)
        arbiter.notify_listeners.append(self.on_notify)
        registry = CollectorRegistry()
        registry.register(_Collector(self.collect))
        ProcessCollector(registry=registry)  # circusd's own CPU, memory, fds
        PlatformCollector(registry=registry)
        host, port = split_host_port(self.address)
        self._sockets = ListenerWatch([Listener.from_info(s.info()) for s in arbiter.sockets])
        server_class = _Server6 if ":" in host else _Server
        try:
            self._server = make_server(host, port, _guarded(make_wsgi_app(registry)), server_class, _Handler)
        except OSError as exc:
            self._sockets.close()
            raise SocketBindError([(f"metrics_endpoint {self.address}", str(exc))]) from exc
        threading.Thread(target=self._server.serve_forever, args=(0.1,), name="metrics", daemon=True).start()
        bound_host, bound_port = self._server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        log.info("metrics on http://%s:%d%s", shown, bound_port, PATH)

    def stop(self) -> None:
        if self._arbiter is not None:
            for listeners, listener in (
                (self._arbiter.event_listeners, self.on_event),
                (self._arbiter.notify_listeners, self.on_notify),
            ):
                if listener in listeners:
                    listeners.remove(listener)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._sockets is not None:
            self._sockets.close()
            self._sockets = None

    # ----------------------------------------------------------------- counting (on the hub)

    def on_event(self, watcher: str, event: str, payload: dict[str, Any]) -> None:
        self.events.apply(watcher, event, payload)
        if event == EventName.REAP and isinstance(payload.get("process_pid"), int):
            self.requests.retire(payload["process_pid"], time.monotonic())
            self._bad_reports.discard(payload["process_pid"])
        elif event == EventName.REMOVE:
            self.requests.forget_watcher(watcher)

    def on_notify(self, pid: int, fields: dict[str, str]) -> None:
        text = fields.get(FIELD)
        if text is None:
            return
        try:
            totals = decode_totals(text)
        except ValueError as exc:
            if pid not in self._bad_reports:
                self._bad_reports.add(pid)
                log.warning("pid %d sent a malformed request report, ignored (logged once): %s", pid, exc)
            return
        slot = self.requests.slot_of(pid) or self._slot_of(pid)
        if slot is None:
            log.debug("a request report from pid %d, which is none of our processes", pid)
            return
        self.requests.report(slot, pid, totals)

    def _slot_of(self, pid: int) -> Slot | None:
        for watcher in self._arbiter.iter_watchers():
            process = watcher.processes.get(pid)
            if process is not None:
                return watcher.name, str(process.wid)
        return None

    def read_on_hub(self) -> tuple[MetricsSnapshot, list[dict[str, Any]]]:
        """The watchers, the counts and the sockets' `listsockets` entries, copied."""
        self.requests.expire(time.monotonic())
        watchers = []
        for watcher in self._arbiter.iter_watchers():
            processes = tuple(
                ProcessView(p.pid, p.wid, p.state.value, p.state == ProcessState.RUNNING)
                for p in watcher.processes.values()
            )
            watchers.append(WatcherView(watcher.name, watcher.state.value, watcher.numprocesses, processes))
        snapshot = MetricsSnapshot(
            watchers=watchers,
            events=self.events.copy(),
            commands=self.commands.copy(),
            requests=self.requests.totals(),
        )
        return snapshot, [s.info() for s in self._arbiter.sockets]

    # ----------------------------------------------------------------- a scrape (in an HTTP thread)

    def collect(self) -> Iterable[Metric]:
        snapshot, sockets = ask_hub(self._loop, self.read_on_hub, HUB_TIMEOUT_S)
        slots = {p.pid: (w.name, str(p.wid)) for w in snapshot.watchers for p in w.processes}
        snapshot.samples = self._sampler.read(list(slots), with_children=False) if slots else {}
        with self._cpu_lock:
            self._cpu.keep_watchers({w.name for w in snapshot.watchers})
            for pid, slot in slots.items():
                cpu_s = snapshot.samples[pid].cpu_seconds
                if cpu_s is not None:
                    self._cpu.observe(slot, pid, cpu_s)
            snapshot.cpu = self._cpu.totals()
        listeners = [Listener.from_info(info) for info in sockets]
        if self._sockets is not None:
            figures = self._sockets.figures(listeners)
            snapshot.sockets = [
                SocketView(lst.name or str(lst.fd), lst.address, figures[lst.fd]) for lst in listeners
            ]
        return build_families(snapshot)


class _Collector:
    """prometheus_client's collector protocol around a function."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


def _guarded(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """prometheus_client's WSGI app on PATH only; a hub that does not answer is a 503."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"not found: the metrics are at {PATH}\n".encode()]
        try:
            return app(environ, start_response)
        except HubUnanswered as exc:
            log.warning("a scrape of %s failed: %s", PATH, exc)
            start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{exc}\n".encode()]

    return guarded


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(WSGIRequestHandler):
    timeout = CONNECTION_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("scrape from %s: " + format, self.client_address[0], *args)
