"""HttpObserver: fetches check_url every loop_rate seconds, within timeout seconds; an error (no answer,
a refused connection, a status of 400 or more) is counted and, with restart_on_error = WATCHER,
restarts that watcher. The fetch time goes to statsd as a timer.

Metric names are Circus's, under circus.<application_name>.watcher (application_name defaults to
http_observer): http_stats.request_time (ms), http_stats.error, http_stats.error.<status> (599 when
nothing answered, as Tornado reported it), http_stats.restart_on_error. Circus's plugin has not
loaded since Tornado 5 (circus#1165: `AsyncHTTPClient(io_loop=...)`, callback-style fetch); this one
uses the standard library.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import ClassVar

from circus_web_stack.config.declaration import option
from circus_web_stack.config.kinds import InvalidValue, Seconds, Text
from circus_web_stack.plugins.statsd import BaseObserver, ObserverOptions

log = logging.getLogger("circus_web_stack.plugins.http_observer")

NO_ANSWER = 599


@dataclass(frozen=True)
class HttpObserverOptions(ObserverOptions):
    application_name: str = option(
        Text(), "http_observer", "the <app> in metric names circus.<app>.watcher...."
    )
    check_url: str = option(Text(), "http://localhost/", "the URL fetched")
    timeout: float = option(Seconds(positive=True), 10.0, "seconds the answer may take")
    restart_on_error: str | None = option(Text(optional=True), None, "watcher restarted when the fetch fails")

    def check(self) -> None:
        if not self.check_url.startswith(("http://", "https://")):
            raise InvalidValue(f"{self.check_url!r} is not an http:// or https:// URL", key="check_url")


def fetch_status(url: str, timeout_s: float) -> int:
    """The HTTP status of a GET of `url`, or NO_ANSWER when none came."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return NO_ANSWER


class HttpObserver(BaseObserver):
    name = "http_observer"
    options_model: ClassVar[type] = HttpObserverOptions
    options: HttpObserverOptions

    def look_after(self) -> None:
        started = time.monotonic()
        status = fetch_status(self.options.check_url, self.options.timeout)
        if status < 400:
            self.statsd.timed("http_stats.request_time", int((time.monotonic() - started) * 1000))
            return
        self.statsd.increment("http_stats.error")
        self.statsd.increment(f"http_stats.error.{status}")
        watcher = self.options.restart_on_error
        what = "no answer" if status == NO_ANSWER else f"status {status}"
        log.warning("%s: %s%s", self.options.check_url, what, f"; restarting {watcher}" if watcher else "")
        if watcher:
            self.cast("restart", name=watcher)
            self.statsd.increment("http_stats.restart_on_error")


__all__ = ["HttpObserver", "HttpObserverOptions", "fetch_status"]
