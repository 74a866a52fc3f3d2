"""A small statsd client (UDP, the plain text protocol): counters, gauges and timers under a prefix.

Rules: a metric name never carries statsd's separators (`:`, `|`, `@`) or whitespace, which would
corrupt the line (Circus sent `circus.app.watcher.plugin:x.spawn:1|c`); they become `_`. A sample
rate below 1 really samples (Circus tagged every packet `|@rate` yet sent them all, so statsd
multiplied the counts). Sending never raises: a metric lost is better than a plugin down.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
from collections.abc import Callable

_UNSAFE = re.compile(r"[:|@\s]")


def metric_name(*parts: str) -> str:
    """The dotted name of the parts, each cleaned of statsd's separators."""
    return ".".join(_UNSAFE.sub("_", part) for part in parts if part)


def format_metric(bucket: str, value: float | int, kind: str, sample_rate: float = 1.0) -> str:
    """One statsd line: `bucket:value|kind`, with `|@rate` when sampled."""
    number = f"{value:g}" if isinstance(value, float) else str(value)
    line = f"{bucket}:{number}|{kind}"
    return line if sample_rate >= 1 else f"{line}|@{sample_rate:g}"


class StatsdClient:
    """Circus's StatsdClient interface: increment, decrement, gauge, timed (ms), stop."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 8125,
        prefix: str | None = None,
        sample_rate: float = 1.0,
        *,
        chance: Callable[[], float] = random.random,
    ) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self.address = address
        self.prefix = prefix
        self.sample_rate = sample_rate
        self._chance = chance
        self.socket = socket.socket(family, kind, proto)

    def send(self, bucket: str, value: float | int, kind: str, sample_rate: float | None = None) -> None:
        rate = self.sample_rate if sample_rate is None else sample_rate
        if rate < 1 and self._chance() >= rate:
            return
        name = metric_name(self.prefix or "", bucket)
        with contextlib.suppress(OSError):
            self.socket.sendto(format_metric(name, value, kind, rate).encode("utf-8"), self.address)

    def increment(self, bucket: str, delta: int = 1) -> None:
        self.send(bucket, delta, "c")

    def decrement(self, bucket: str, delta: int = 1) -> None:
        self.send(bucket, -abs(delta), "c")

    def gauge(self, bucket: str, value: float | int) -> None:
        self.send(bucket, value, "g")

    def timed(self, bucket: str, milliseconds: float | int) -> None:
        self.send(bucket, milliseconds, "ms")

    def stop(self) -> None:
        self.socket.close()


__all__ = ["StatsdClient", "format_metric", "metric_name"]
