"""What every connection of one gevent server shares: the app, limits, timeouts, caches, the stop flag.

Rule: a connection reads only this, never the server, so it can be built (and tested) without one; the
server owns the context and is the only writer of `stopping`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..http.access_log import TimestampCache
from ..http.limits import Limits
from ..http.proxies import TrustedProxies
from ..http.response import DateCache
from ..request_metrics import RequestMeter
from .loop_turns import LoopTurns


@dataclass(slots=True, eq=False)
class ConnectionContext:
    app: Callable[..., Any]
    limits: Limits
    proxies: TrustedProxies
    #: The environ keys every request shares (`http.environ.server_environ`).
    base_environ: dict[str, object]
    header_timeout_s: float
    keepalive_timeout_s: float
    io_timeout_s: float
    #: Where access-log lines go; None when the access log is off.
    access_log: TextIO | None
    turns: LoopTurns
    #: Where each answered request is counted; None when request metrics are off.
    requests: RequestMeter | None = None
    date: DateCache = field(default_factory=DateCache)
    timestamps: TimestampCache = field(default_factory=TimestampCache)
    #: Set by the server's graceful stop: responses from then on close their connection.
    stopping: bool = False
