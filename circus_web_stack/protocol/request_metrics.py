"""The request figures a WSGI worker reports to circusd: one `X_CIRCUS_REQUESTS=<json>` field in a
datagram on the worker's NOTIFY_SOCKET (the sd_notify protocol keeps `X_` names for such extensions).

Rules: a report carries the worker's totals since it started (never increments), so a lost datagram
loses nothing and a repeated one changes nothing; the sender's pid comes from the kernel, not from the
message. Everything is checked: a status class outside 1xx-5xx, a bucket list that does not fit its
bounds or a negative count is refused (the daemon must not grow a series per garbage datagram).
chaussette_compat/request_metrics.py writes this format (it imports nothing from us); docs/metrics.md
describes it. Pure.

    {"v": 1, "status": {"2xx": 120, "4xx": 3}, "le": [0.005, 0.01, ...], "buckets": [80, 30, ..., 0],
     "sum": 0.412}

`buckets` holds one count per bound (requests that took at most that many seconds and more than the
bound before) plus one for the rest: not cumulative. `sum` is the seconds of every request.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass

FIELD = "X_CIRCUS_REQUESTS"
VERSION = 1
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
MAX_BOUNDS = 40


@dataclass(frozen=True)
class WorkerTotals:
    """One worker's request figures since it started."""

    statuses: dict[str, int]  # status class -> requests answered with it
    bounds: tuple[float, ...]  # the latency histogram's upper bounds, seconds, increasing
    buckets: tuple[int, ...]  # len(bounds) + 1 counts, not cumulative (the last: above every bound)
    sum_s: float


def decode_totals(text: str) -> WorkerTotals:
    """The value of an X_CIRCUS_REQUESTS field; ValueError naming what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{FIELD} is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise ValueError(f'{FIELD}: expected a JSON object with "v": {VERSION}')
    statuses = data.get("status")
    if not isinstance(statuses, dict) or not all(
        key in STATUS_CLASSES and _count(value) for key, value in statuses.items()
    ):
        raise ValueError(f"{FIELD}: status must map {', '.join(STATUS_CLASSES)} to counts")
    bounds = data.get("le")
    if (
        not isinstance(bounds, list)
        or not 0 < len(bounds) <= MAX_BOUNDS
        or not all(_number(b) and b > 0 for b in bounds)
        or any(a >= b for a, b in itertools.pairwise(bounds))
    ):
        raise ValueError(f"{FIELD}: le must be 1 to {MAX_BOUNDS} increasing positive bounds")
    buckets = data.get("buckets")
    if not isinstance(buckets, list) or len(buckets) != len(bounds) + 1 or not all(map(_count, buckets)):
        raise ValueError(f"{FIELD}: buckets must be {len(bounds) + 1} counts (one per bound, one above)")
    total = data.get("sum")
    if not _number(total) or total < 0:
        raise ValueError(f"{FIELD}: sum must be the seconds of every request (a number >= 0)")
    return WorkerTotals(
        statuses={key: int(value) for key, value in statuses.items()},
        bounds=tuple(float(b) for b in bounds),
        buckets=tuple(int(c) for c in buckets),
        sum_s=float(total),
    )


def _count(value: object) -> bool:
    return type(value) is int and value >= 0


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
