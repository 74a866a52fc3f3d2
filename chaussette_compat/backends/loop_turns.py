"""Fair turns on the gevent hub: a connection that has had its share of the current turn of the loop
waits for the next one before serving its next request.

Why: a greenlet only yields when a socket would block. A keep-alive client that sends its next request
as soon as it has the response finds it already in the buffer, so its greenlet serves it again and
again while every other connection and the accept loop wait. Measured with the Django example, 50
clients on 2 workers: keep-alive p50 2 ms but p99 0.7 s and worst 3.2 s, new connections p50 280 ms;
with a turn each, worst 0.2 s.

Rule: a turn starts when the hub has polled for I/O (a check watcher, which libev runs first after each
poll). Once the turn is older than `slice_s`, a connection about to serve another request waits until
the I/O events of the next poll have been handled. Not `gevent.sleep(0)`: a greenlet resumed by a
callback and yielding that way is resumed in the same pass of callbacks, before any poll. Nor a bare
timer: libev runs expired timers before the I/O events of the same poll. So a timer (which also keeps
that poll from blocking) queues the waiting greenlets as callbacks, which the hub runs only after it
has handled that poll's I/O. Under `slice_s` a connection goes on at once: an app whose turns stay
short never waits, and one whose eager clients fill whole turns pays for the fairness (TURN_SLICE_S).
"""

from __future__ import annotations

from time import monotonic

import gevent
from gevent.hub import Waiter

#: Any positive delay: the timer is due at once and fires after the next poll.
_NEXT_POLL_S = 1e-6


class LoopTurns:
    """Knows when the hub's current turn began; one per server, on the hub of the thread serving."""

    def __init__(self, slice_s: float) -> None:
        self.slice_s = slice_s
        self.started = monotonic()
        self._loop = gevent.get_hub().loop
        self._check = self._loop.check()
        self._check.ref = False  # it must not keep the hub's loop alive on its own
        self._check.start(self._turned)
        self._wake = self._loop.timer(_NEXT_POLL_S)
        self._waiting: list[Waiter] = []

    def _turned(self) -> None:
        self.started = monotonic()

    def take_turn(self) -> None:
        """Go on if the current turn is young; else wait until the next poll's I/O has been handled."""
        if monotonic() - self.started <= self.slice_s:
            return
        waiter = Waiter()
        self._waiting.append(waiter)
        if not self._wake.active:
            self._wake.start(self._polled)
        waiter.get()

    def _polled(self) -> None:
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            self._loop.run_callback(waiter.switch, None)

    def close(self) -> None:
        self._check.close()
        self._wake.close()
