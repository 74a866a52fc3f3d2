"""The default backend: our own accept loop on gevent, a bounded pool of connection greenlets,
deadline-based timeouts, and a graceful stop that really drains (unlike Chaussette's and gevent.pywsgi).

Rule: after each accept the new connection is served before the next accept, so workers sharing one
socket share the load (gunicorn's max_accept=1); connections take turns too (`LoopTurns`), so one
eager keep-alive client cannot hold the worker; the stop signal closes the listener, closes idle
connections, lets in-flight requests finish with `Connection: close`, and returns once the pool is
empty or --graceful-timeout has passed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from time import monotonic
from typing import Any

import gevent
import gevent.socket
from gevent.event import Event
from gevent.pool import Pool

from ..exit_codes import EXIT_OK
from ..http.environ import server_environ
from ..options import Options
from . import ServeContext
from .connection_context import ConnectionContext
from .file_wrapper import FileWrapper
from .gevent_connection import Connection
from .loop_turns import LoopTurns

log = logging.getLogger("chaussette")

#: Concurrent connections per worker when --spawn is not given (gunicorn's worker_connections).
DEFAULT_POOL_SIZE = 1000
#: accept() errors that mean "out of descriptors or memory": wait and retry instead of spinning.
_RESOURCE_ERRORS = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))
_RESOURCE_BACKOFF_S = 0.5
#: Time allowed for killed greenlets to unwind after the graceful timeout.
_KILL_GRACE_S = 0.5
#: How long an idle keep-alive connection stays open after the stop signal, for a request in flight.
STOP_IDLE_GRACE_S = 1.0
#: The share of a turn of the hub's loop after which a keep-alive connection lets the others go first:
#: about 400 hello-world requests or 4 Django pages. Measured under wrk (500 connections, hello-world),
#: against no turns: 1 ms cost 40% of the throughput, 5 ms 28%, 10 ms about 12%, 20 ms 5%, while the
#: Django example's worst latency was about 0.25 s for any of them (3.9 s without turns).
TURN_SLICE_S = 0.01


def prepare(options: Options) -> None:
    """Monkey-patch before the app is imported, so its sockets, sleeps and locks cooperate."""
    if options.monkey_patch:
        from gevent import monkey

        with entry_points_read_once():
            monkey.patch_all()


@contextlib.contextmanager
def entry_points_read_once() -> Iterator[None]:
    """Within the block, importlib.metadata.entry_points() reads the installed distributions once.

    Why: patch_all() looks up gevent's plugin entry points for each of its ~25 events, and each lookup
    reads the metadata of every installed distribution: about 65 ms of a worker's 150 ms start with
    35 distributions, more in a real virtualenv. Plugins are still found and called; nothing is
    installed while patch_all() runs, so one reading answers every lookup."""
    from importlib import metadata

    original = metadata.entry_points
    every: list[metadata.EntryPoints] = []

    def entry_points_cached(**selection: Any) -> metadata.EntryPoints:
        if not every:
            every.append(original())
        return every[0].select(**selection) if selection else every[0]

    metadata.entry_points = entry_points_cached  # type: ignore[assignment]
    try:
        yield
    finally:
        metadata.entry_points = original


def serve(app: Callable[..., Any], listener: socket.socket, options: Options, context: ServeContext) -> int:
    return GeventServer(app, listener, options, context).serve()


def reaper_tick_s(*timeouts_s: float) -> float:
    """How often to look for connections past their deadline: a quarter of the shortest timeout,
    between 10 ms and 1 s, so a timeout fires at most 25% late."""
    return min(1.0, max(0.01, min(timeouts_s) / 4))


class GeventServer:
    """Accepts on one listener and serves each connection in a greenlet of a bounded pool."""

    def __init__(
        self, app: Callable[..., Any], listener: socket.socket, options: Options, context: ServeContext
    ) -> None:
        self.app = app
        self.options = options
        self.context = context
        self.turns = LoopTurns(TURN_SLICE_S)
        base_environ = server_environ(multithread=True, errors=context.log_stream, file_wrapper=FileWrapper)
        self.shared = ConnectionContext(
            app=app,
            limits=options.limits,
            proxies=options.trusted_proxies,
            base_environ=base_environ,
            header_timeout_s=options.header_timeout_s,
            keepalive_timeout_s=options.keepalive_timeout_s,
            io_timeout_s=options.io_timeout_s,
            access_log=context.log_stream if options.access_log else None,
            turns=self.turns,
            requests=context.requests,
        )
        self.listener = gevent.socket.socket(fileno=listener.detach())
        self.pool = Pool(options.spawn or DEFAULT_POOL_SIZE)
        self.connections: set[Connection] = set()
        self._stopped = Event()
        self._acceptor: gevent.Greenlet | None = None

    def serve(self) -> int:
        """Serve until a stop signal; the exit code."""
        handlers = [gevent.signal_handler(self.options.stop_signal, self.stop_gracefully)]
        handlers += [
            gevent.signal_handler(sig, self.stop_now, sig) for sig in self.options.quick_stop_signals
        ]
        self._acceptor = gevent.spawn(self._accept_loop)
        reaper = gevent.spawn(self._reap_loop)
        try:
            self._stopped.wait()
        finally:
            for handler in handlers:
                handler.cancel()
            reaper.kill(block=False)
            self._close_listener()
            self.turns.close()
        return EXIT_OK

    # accepting -----------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self.listener
        pool = self.pool
        self.context.on_ready()
        while not self.shared.stopping:
            pool.wait_available()
            try:
                sock, peer = listener.accept()
            except OSError as exc:
                if self.shared.stopping:
                    return
                if exc.errno in _RESOURCE_ERRORS:
                    log.error("accept() failed: %s; retrying in %.1fs", exc, _RESOURCE_BACKOFF_S)
                    gevent.sleep(_RESOURCE_BACKOFF_S)
                continue  # ECONNABORTED and friends: that client is gone, take the next
            pool.spawn(self._handle, sock, peer)
            # Fairness between workers sharing the socket: yielding the hub serves the new connection
            # first, so a worker busy with requests leaves the next connections to a woken sibling
            # (test_fairness.py). An idle worker may still take a whole burst: sleep(0) resumes it in
            # the same pass of callbacks, and accept() tries before it waits. Not os.sched_yield() as
            # well: it hands the CPU to any runnable process whatever its nice, and during a rolling
            # reload that is the starting worker (startup_nice): a surviving worker taking the
            # reconnecting clients of a stopped one stalled for ~50 ms.
            gevent.sleep(0)

    def _handle(self, sock: Any, peer: Any) -> None:
        connection = Connection(self.shared, sock, peer)
        self.connections.add(connection)
        try:
            connection.serve()
        except Exception:
            log.exception("internal error serving %r", connection)
        finally:
            self.connections.discard(connection)

    def _reap_loop(self) -> None:
        """Close connections past their deadline: idle keep-alive, slow heads, stalled reads/writes."""
        options = self.options
        tick = reaper_tick_s(options.header_timeout_s, options.keepalive_timeout_s, options.io_timeout_s)
        while True:
            gevent.sleep(tick)
            now = monotonic()
            for connection in list(self.connections):
                if connection.deadline < now:
                    log.debug("closing %r: timed out", connection)
                    connection.abort()

    # stopping ------------------------------------------------------------------------------------

    def _close_listener(self) -> None:
        if self._acceptor is not None:
            self._acceptor.kill(block=False)
        with contextlib.suppress(OSError):
            self.listener.close()

    def stop_gracefully(self) -> None:
        if self.shared.stopping:
            return
        self.shared.stopping = True
        self.context.on_stopping()
        self._close_listener()
        idle = [connection for connection in list(self.connections) if connection.is_idle()]
        grace_until = monotonic() + STOP_IDLE_GRACE_S
        for connection in idle:
            # Not cut at once: a keep-alive client may be sending its next request right now, and would
            # see it fail. Within the grace it is served with `Connection: close`; after, the reaper closes.
            connection.deadline = min(connection.deadline, grace_until)
        busy = len(self.connections) - len(idle)
        log.info(
            "%s: stopped accepting; closing %d idle connection(s) within %ss, finishing %d (up to %ss)",
            signal.Signals(self.options.stop_signal).name,
            len(idle),
            STOP_IDLE_GRACE_S,
            busy,
            self.options.graceful_timeout_s,
        )
        gevent.spawn(self._finish_in_flight)

    def _finish_in_flight(self) -> None:
        started = monotonic()
        if not self.pool.join(timeout=self.options.graceful_timeout_s):
            log.warning(
                "graceful timeout (%ss): closing %d connection(s) still busy",
                self.options.graceful_timeout_s,
                len(self.pool),
            )
            self.pool.kill(block=True, timeout=_KILL_GRACE_S)
        else:
            log.info("all requests finished in %.2fs; exiting", monotonic() - started)
        self._stopped.set()

    def stop_now(self, signum: int) -> None:
        log.info("%s: stopping at once (%d connection(s) open)", signal.Signals(signum).name, len(self.pool))
        self.shared.stopping = True
        self._close_listener()
        self.pool.kill(block=False)
        self._stopped.set()
