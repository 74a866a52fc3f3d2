"""An autojump fake clock for gevent, as trio's: time stands still while anything can run, and jumps
to the next timer's deadline the moment every greenlet is waiting. A 30 s graceful timeout passes in
microseconds, in the order real time would have fired the timers."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import gevent
import gevent.event


class FakeTimer:
    def __init__(self, deadline: float, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        self.callback = None


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()
        self._added = gevent.event.Event()
        self._jumper: gevent.Greenlet | None = None

    def monotonic(self) -> float:
        return self.now

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(self.now + max(0.0, delay_s), callback)
        heapq.heappush(self._heap, (timer.deadline, next(self._order), timer))
        self._added.set()
        return timer

    def sleep(self, seconds: float) -> None:
        woken = gevent.event.Event()
        self.call_later(seconds, woken.set)
        woken.wait()

    def start_autojump(self) -> None:
        self._jumper = gevent.spawn(self._autojump)

    def stop_autojump(self) -> None:
        if self._jumper is not None:
            self._jumper.kill()
            self._jumper = None

    def _autojump(self) -> None:
        while True:
            gevent.idle()  # every other greenlet is waiting: nothing more happens at this instant
            while self._heap and self._heap[0][2].callback is None:
                heapq.heappop(self._heap)
            if not self._heap:
                self._added.clear()
                self._added.wait()
                continue
            deadline, _, timer = heapq.heappop(self._heap)
            self.now = max(self.now, deadline)
            callback, timer.callback = timer.callback, None
            if callback is not None:
                callback()
