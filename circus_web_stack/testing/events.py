"""Collects a daemon's events in a thread, for tests: subscribe first, then act, then wait for facts."""

from __future__ import annotations

import threading
from collections.abc import Callable

import zmq

from circus_web_stack.protocol.pubsub import Event, decode_event
from circus_web_stack.testing.waiting import wait_until


class EventCollector:
    def __init__(self, endpoint: str, topics: tuple[str, ...] = ("watcher.",)) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = zmq.Context.instance().socket(zmq.SUB)
        self._sock.linger = 0
        for topic in topics:
            self._sock.subscribe(topic)
        self._sock.connect(endpoint)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._sock.poll(50):
                event = decode_event(self._sock.recv_multipart())
                with self._lock:
                    self.events.append(event)
        self._sock.close(linger=0)

    def snapshot(self) -> list[Event]:
        with self._lock:
            return list(self.events)

    def named(self, watcher: str, name: str) -> list[Event]:
        return [e for e in self.snapshot() if e.watcher == watcher and e.name == name]

    def wait_for(
        self, predicate: Callable[[list[Event]], object], timeout: float = 10.0, what: str = "events"
    ):
        return wait_until(lambda: predicate(self.snapshot()), timeout, what)

    def wait_subscribed(
        self, poke: Callable[[], None], watcher: str, name: str, timeout: float = 10.0
    ) -> None:
        """ZeroMQ subscriptions take a moment to reach the publisher: poke (an action that emits
        `watcher.name`) until one such event arrives, so later events cannot be missed."""

        def poked() -> bool:
            poke()
            return bool(wait_until_quiet(lambda: self.named(watcher, name), 0.2))

        wait_until(poked, timeout, f"the subscription to see {watcher}.{name}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def wait_until_quiet(condition: Callable[[], object], timeout: float) -> object:
    """Like wait_until, but returns the falsy last value instead of failing when time runs out."""
    try:
        return wait_until(condition, timeout)
    except AssertionError:
        return None
