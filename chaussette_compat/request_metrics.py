"""Request figures of one worker (--request-metrics, --statsd-host): counted per request, written out
by the reporter (metrics_report.py) once per interval. Pure.

Rules: counting a request is a few dictionary and list operations, nothing else (no syscall, no
formatting), so it costs well under 1% of a hello-world request; the texts are made once per interval.
Two outputs:
- for circusd, the `X_CIRCUS_REQUESTS=<json>` NOTIFY_SOCKET field: the totals since the worker
  started (circus_web_stack/protocol/request_metrics.py reads it; docs/metrics.md describes it);
- for statsd, gunicorn's metrics (`<prefix>chaussette.requests`, `.request.duration` in ms,
  `.request.status.<code>`) plus `.request.class.<Nxx>`, as increments since the last interval,
  several per datagram (newline-separated, as statsd, Telegraf, the Datadog agent and statsd_exporter
  read them).
"""

from __future__ import annotations

import json
import random
from bisect import bisect_left
from collections.abc import Iterator

NOTIFY_FIELD = "X_CIRCUS_REQUESTS"
# Upper bounds of the latency histogram, seconds: Prometheus's default buckets, with three below 5 ms
# (a hello-world request takes about 0.1 ms).
LATENCY_BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATSD_DATAGRAM = 1432  # bytes: fits an Ethernet frame with IP and UDP headers
# Most latency lines per interval: past it a random sample goes out with statsd's sample rate
# (`|@0.05`), which statsd servers scale back up, so a worker at 50,000 req/s does not spend 2% of
# its time formatting timer lines (gunicorn sends one datagram per line).
MAX_TIMINGS = 1000


class RequestMeter:
    """Counts answered requests by status code, with their latency. Not thread-safe: one server loop
    (gevent) calls `observe`; threaded backends lock around it (backends/middleware.py)."""

    __slots__ = ("buckets", "by_code", "sum_s", "timings")

    def __init__(self, *, keep_timings: bool) -> None:
        self.by_code = [0] * 1000  # indexed by status code: cheaper than a dict on every request
        self.buckets = [0] * (len(LATENCY_BOUNDS) + 1)
        self.sum_s = 0.0
        # each latency since the last statsd flush (statsd timers take every value); None: no statsd
        self.timings: list[float] | None = [] if keep_timings else None

    def observe(self, code: int, seconds: float) -> None:
        self.by_code[code if 0 <= code < 1000 else 0] += 1
        self.buckets[bisect_left(LATENCY_BOUNDS, seconds)] += 1
        self.sum_s += seconds
        if self.timings is not None:
            self.timings.append(seconds)

    @property
    def codes(self) -> dict[int, int]:
        """Requests by status code so far."""
        return {code: count for code, count in enumerate(self.by_code) if count}

    def take_timings(self) -> list[float]:
        taken = self.timings or []
        if self.timings is not None:
            self.timings = []
        return taken


def status_class(code: int) -> str:
    """200 -> '2xx'."""
    return f"{code // 100}xx"


def notify_report(codes: dict[int, int], buckets: list[int], sum_s: float) -> str:
    """The NOTIFY_SOCKET datagram with these totals."""
    statuses: dict[str, int] = {}
    for code, count in codes.items():
        if 100 <= code <= 599:
            key = status_class(code)
            statuses[key] = statuses.get(key, 0) + count
    report = {"v": 1, "status": statuses, "le": LATENCY_BOUNDS, "buckets": buckets, "sum": round(sum_s, 6)}
    return f"{NOTIFY_FIELD}={json.dumps(report, separators=(',', ':'))}"


def statsd_prefix(text: str) -> str:
    """gunicorn's --statsd-prefix rule: 'app' and 'app.' both prefix 'app.'; '' prefixes nothing."""
    text = text.strip().rstrip(".")
    return f"{text}." if text else ""


def statsd_lines(prefix: str, new_codes: dict[int, int], timings: list[float]) -> Iterator[str]:
    """The statsd lines for one interval: `new_codes` are the requests since the last one."""
    base = f"{prefix}chaussette."
    total = sum(new_codes.values())
    if total:
        yield f"{base}requests:{total}|c"
    classes: dict[str, int] = {}
    for code, count in sorted(new_codes.items()):
        yield f"{base}request.status.{code}:{count}|c"
        key = status_class(code)
        classes[key] = classes.get(key, 0) + count
    for key, count in sorted(classes.items()):
        yield f"{base}request.class.{key}:{count}|c"
    rate = ""
    if len(timings) > MAX_TIMINGS:
        rate = f"|@{MAX_TIMINGS / len(timings):.4g}"
        timings = random.sample(timings, MAX_TIMINGS)
    for seconds in timings:
        yield f"{base}request.duration:{seconds * 1000:.3f}|ms{rate}"


def pack_datagrams(lines: Iterator[str], limit: int = STATSD_DATAGRAM) -> Iterator[bytes]:
    """Lines joined by newlines into datagrams of at most `limit` bytes (a longer line goes alone)."""
    batch: list[bytes] = []
    size = 0
    for line in lines:
        data = line.encode()
        if batch and size + 1 + len(data) > limit:
            yield b"\n".join(batch)
            batch, size = [], 0
        size += len(data) + (1 if batch else 0)
        batch.append(data)
    if batch:
        yield b"\n".join(batch)
