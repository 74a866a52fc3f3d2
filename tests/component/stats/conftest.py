"""Fixtures for the stats stream tests: a collector of stats messages and a daemon running circusd-stats."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import zmq

from circus_web_stack.testing.waiting import wait_until


@dataclass(frozen=True)
class Message:
    topic: str
    payload: dict
    received: float  # monotonic


class StatsCollector:
    """Subscribes to a stats endpoint in a thread and keeps every message. `on_message` runs in that
    thread right as a message arrives (to read psutil at the same moment)."""

    def __init__(
        self, endpoint: str, prefix: str = "stat.", on_message: Callable[[Message], None] | None = None
    ) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._on_message = on_message
        self._sock = zmq.Context.instance().socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.subscribe(prefix)
        self._sock.connect(endpoint)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._sock.poll(50):
                topic, body = self._sock.recv_multipart()
                message = Message(topic.decode(), json.loads(body), time.monotonic())
                if self._on_message is not None:
                    self._on_message(message)
                with self._lock:
                    self.messages.append(message)
        self._sock.close(linger=0)

    def snapshot(self, since: float = 0.0) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.received >= since]

    def latest(self, topic: str, since: float = 0.0) -> dict | None:
        found = [m for m in self.snapshot(since) if m.topic == topic]
        return found[-1].payload if found else None

    def wait_topic(self, topic: str, timeout: float = 10.0, since: float = 0.0, check=lambda p: True) -> dict:
        return wait_until(
            lambda: next(
                (m.payload for m in reversed(self.snapshot(since)) if m.topic == topic and check(m.payload)),
                None,
            ),
            timeout,
            f"a {topic} message; topics so far: {sorted({m.topic for m in self.snapshot()})}",
        )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def stats_endpoint(daemon) -> str:
    return f"ipc://{daemon.runtime_dir / 'stats.sock'}"


@pytest.fixture
def collect() -> Iterator[Callable[..., StatsCollector]]:
    collectors: list[StatsCollector] = []

    def start(endpoint: str, prefix: str = "stat.", on_message=None) -> StatsCollector:
        collector = StatsCollector(endpoint, prefix, on_message)
        collectors.append(collector)
        return collector

    yield start
    for collector in collectors:
        collector.close()
