"""WSGI middleware giving the waitress and wsgiref backends what the gevent backend does inline:
trusted-proxy handling, the access log and the request figures (--request-metrics, --statsd-host).

Rule: same semantics as the gevent backend, built from the same pure functions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from time import perf_counter, time
from typing import Any, TextIO

from ..http.access_log import TimestampCache, common_log_line
from ..http.proxies import TrustedProxies, apply_forwarded
from ..options import Options
from ..request_metrics import RequestMeter

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ForwardedMiddleware:
    """Apply X-Forwarded-For/Proto from trusted peers; drop them from others."""

    def __init__(self, app: WSGIApp, proxies: TrustedProxies, unix_listener: bool) -> None:
        self.app = app
        self.proxies = proxies
        self.unix_listener = unix_listener

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = "" if self.unix_listener else str(environ.get("REMOTE_ADDR", ""))
        apply_forwarded(environ, self.proxies.trusts(peer))
        return self.app(environ, start_response)


class _LoggedBody:
    def __init__(self, body: Iterable[bytes], on_close: Callable[[int], None]) -> None:
        self._body = body
        self._on_close = on_close
        self._sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for data in self._body:
            self._sent += len(data)
            yield data

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close(self._sent)


class AccessLogMiddleware:
    """Write one Common Log Format line per response to `stream`."""

    def __init__(self, app: WSGIApp, stream: TextIO) -> None:
        self.app = app
        self.stream = stream
        self.timestamps = TimestampCache()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status: list[str] = ["500"]

        def logging_start_response(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code
            return start_response(code, headers, exc_info)

        def write_line(sent: int) -> None:
            target = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
            query = environ.get("QUERY_STRING")
            if "RAW_URI" not in environ and query:
                target = f"{target}?{query}"
            line = common_log_line(
                str(environ.get("REMOTE_ADDR", "")),
                str(environ.get("REQUEST_METHOD", "-")),
                str(target),
                str(environ.get("SERVER_PROTOCOL", "-")),
                int(status[0][:3]) if status[0][:3].isdigit() else 500,
                sent,
                self.timestamps.text(time()),
            )
            self.stream.write(line)

        return _LoggedBody(self.app(environ, logging_start_response), write_line)


class RequestMetricsMiddleware:
    """Count each response in `meter` when its body is closed (waitress runs requests in threads:
    the meter is locked)."""

    def __init__(self, app: WSGIApp, meter: RequestMeter) -> None:
        self.app = app
        self.meter = meter
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = perf_counter()
        status: list[str] = ["500"]

        def counting_start_response(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code
            return start_response(code, headers, exc_info)

        def count(sent: int) -> None:
            code = int(status[0][:3]) if status[0][:3].isdigit() else 500
            with self.lock:
                self.meter.observe(code, perf_counter() - started)

        try:
            body = self.app(environ, counting_start_response)
        except Exception:  # the server answers 500 for it
            count(0)
            raise
        return _LoggedBody(body, count)


def wrap_app(
    app: WSGIApp, options: Options, log_stream: TextIO, requests: RequestMeter | None, *, unix_listener: bool
) -> WSGIApp:
    """The app as the waitress and wsgiref backends serve it."""
    wrapped: WSGIApp = ForwardedMiddleware(app, options.trusted_proxies, unix_listener)
    if options.access_log:
        wrapped = AccessLogMiddleware(wrapped, log_stream)
    if requests is not None:
        wrapped = RequestMetricsMiddleware(wrapped, requests)
    return wrapped
