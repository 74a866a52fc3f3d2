"""The event loop of one plugin process: ZeroMQ sockets and file descriptors to read, and timers, on one
thread. It speaks Tornado's words (`PeriodicCallback(callback, callback_time_ms)`, `add_handler(fd,
handler, READ)`, `IOLoop.current()`), so a Circus plugin's `from tornado import ioloop` becomes
`from circus_web_stack.plugins import ioloop` and nothing else changes.

Rule: a callback that raises is logged with its traceback and the loop goes on, as Tornado's did for
Circus's plugins; only stop() ends the loop. Every wait is bounded by the next timer, and stop() from
another thread or a signal handler wakes the wait at once (a byte on a pipe).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import zmq

log = logging.getLogger("circus_web_stack.plugins")

READ = zmq.POLLIN
Handler = Callable[[Any, int], None]  # (fd or socket, events)

_current: IOLoop | None = None


class Timeout:
    """A callback due at a monotonic time; cancel() keeps it from running."""

    def __init__(self, due_s: float, callback: Callable[[], object]) -> None:
        self.due_s = due_s
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class IOLoop:
    READ = READ

    def __init__(self) -> None:
        self._poller = zmq.Poller()
        self._handlers: dict[Any, Handler] = {}
        self._timers: list[tuple[float, int, Timeout]] = []
        self._order = itertools.count()
        self._running = False
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._poller.register(self._wake_r, READ)

    @staticmethod
    def current() -> IOLoop:
        """The loop made current by make_current() (the plugin's, once it starts), else a new one."""
        global _current
        if _current is None:
            _current = IOLoop()
        return _current

    def make_current(self) -> None:
        global _current
        _current = self

    # ----------------------------------------------------------------- readers and timers

    def add_handler(self, fd: Any, handler: Handler, events: int = READ) -> None:
        """Call handler(fd, events) whenever `fd` (a file descriptor, an object with fileno(), or a
        ZeroMQ socket) is readable."""
        self._handlers[fd] = handler
        self._poller.register(fd, events)

    def remove_handler(self, fd: Any) -> None:
        if self._handlers.pop(fd, None) is not None:
            self._poller.unregister(fd)

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> Timeout:
        timeout = Timeout(time.monotonic() + max(0.0, delay_s), callback)
        heapq.heappush(self._timers, (timeout.due_s, next(self._order), timeout))
        return timeout

    def add_callback(self, callback: Callable[[], object]) -> Timeout:
        return self.call_later(0.0, callback)

    # ----------------------------------------------------------------- running

    def start(self) -> None:
        """Run until stop()."""
        self._running = True
        try:
            while not self._stopping:
                for fd, events in self._poller.poll(self._wait_ms()):
                    if fd == self._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, 512)
                        continue
                    handler = self._handlers.get(fd)
                    if handler is not None:
                        self._run(handler, fd, events)
                self._run_due_timers()
        finally:
            self._running = False
            self._stopping = False

    def stop(self) -> None:
        """End start() soon; safe from another thread and from a signal handler."""
        self._stopping = True
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def close(self) -> None:
        for fd in list(self._handlers):
            self.remove_handler(fd)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _wait_ms(self) -> int:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return 1000
        return max(0, min(1000, int((self._timers[0][0] - time.monotonic()) * 1000) + 1))

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now and not self._stopping:
            _, _, timeout = heapq.heappop(self._timers)
            if not timeout.cancelled:
                self._run(timeout.callback)

    @staticmethod
    def _run(callback: Callable[..., object], *args: object) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("a plugin callback failed (%r); the plugin goes on", callback)


class PeriodicCallback:
    """`callback` every `callback_time` milliseconds (Tornado's unit), on `io_loop` or the current loop,
    from start() to stop(). A slow callback delays the next run; runs missed meanwhile are skipped."""

    def __init__(
        self, callback: Callable[[], object], callback_time: float, io_loop: IOLoop | None = None
    ) -> None:
        if callback_time <= 0:
            raise ValueError(f"callback_time must be more than 0 ms, not {callback_time!r}")
        self.callback = callback
        self.callback_time = callback_time
        self._loop = io_loop
        self._timeout: Timeout | None = None
        self._next_s = 0.0

    def start(self) -> None:
        loop = self._loop or IOLoop.current()
        self._loop = loop
        self._next_s = time.monotonic()
        self._schedule()

    def stop(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None

    def is_running(self) -> bool:
        return self._timeout is not None

    def _schedule(self) -> None:
        assert self._loop is not None
        interval_s = self.callback_time / 1000.0
        now = time.monotonic()
        self._next_s += interval_s
        if self._next_s <= now:
            self._next_s = now + interval_s
        self._timeout = self._loop.call_later(self._next_s - now, self._tick)

    def _tick(self) -> None:
        try:
            self.callback()
        finally:
            if self._timeout is not None:  # not stopped by the callback
                self._schedule()


__all__ = ["READ", "IOLoop", "PeriodicCallback", "Timeout"]
