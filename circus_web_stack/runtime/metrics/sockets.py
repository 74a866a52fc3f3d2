"""The daemon's listeners as the kernel sees them, for /metrics: a thread that owns a sock_diag
ListenerProbe (runtime/stats/sockdiag.py, the same reading circusd-stats publishes).

Rule: the thread drains the kernel's socket-destroy notices as they come, so a burst of short
connections between two scrapes is still counted (the accepted count needs every notice); a scrape
reads the figures under the same lock. Never on the hub. When the set of sockets changes
(reloadconfig), the probe is built afresh and `accepted` counts from then on.
"""

from __future__ import annotations

import logging
import select
import threading

from circus_web_stack.protocol.stats import ListenerFigures
from circus_web_stack.runtime.stats.sockdiag import Listener, ListenerProbe

log = logging.getLogger("circus_web_stack.metrics")

POLL_S = 0.5  # how soon the thread sees a new probe or the stop


class ListenerWatch:
    """Starts counting `listeners` at once (the baseline of `accepted`), then drains in its thread."""

    def __init__(self, listeners: list[Listener]) -> None:
        self._lock = threading.Lock()
        self._probe: ListenerProbe | None = None
        self._listeners: list[Listener] = []
        self._replace(listeners)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._drain_loop, name="metrics-sockets", daemon=True)
        self._thread.start()

    def figures(self, listeners: list[Listener]) -> dict[int, ListenerFigures]:
        """The figures of `listeners` now, by fd; empty figures where the kernel cannot be asked."""
        with self._lock:
            if listeners != self._listeners:
                self._replace(listeners)
            if self._probe is None:
                return {lst.fd: ListenerFigures() for lst in listeners}
            try:
                return self._probe.figures()
            except OSError as exc:
                log.warning("reading socket figures failed: %s", exc)
                return {lst.fd: ListenerFigures() for lst in listeners}

    def _replace(self, listeners: list[Listener]) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        self._listeners = listeners
        if not listeners:
            return
        try:
            self._probe = ListenerProbe(listeners)
            self._probe.figures()  # the baseline: `accepted` counts connections from now on
        except OSError as exc:
            log.warning("socket figures unavailable (sock_diag netlink: %s)", exc)
            self._probe = None

    def _drain_loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                fd = self._probe.fileno() if self._probe is not None else None
            if fd is None:
                self._stopping.wait(POLL_S)
                continue
            try:
                readable, _, _ = select.select([fd], [], [], POLL_S)
            except (OSError, ValueError):  # the probe was closed under us: take the new one
                continue
            if readable:
                with self._lock:
                    if self._probe is not None and self._probe.fileno() == fd:
                        try:
                            self._probe.drain()
                        except OSError as exc:  # never end the thread: the next scrape says what is wrong
                            log.warning("reading socket destroy notices failed: %s", exc)
                            self._stopping.wait(POLL_S)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2 * POLL_S)
        with self._lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
