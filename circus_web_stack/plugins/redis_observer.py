"""RedisObserver: reads a Redis server's INFO every loop_rate seconds and gauges its figures; when the
server does not answer within timeout seconds, restart_on_timeout = WATCHER restarts that watcher.

Metric names are Circus's, under circus.<application_name>.watcher (application_name defaults to
redis_observer): redis_stats.<field> for each field of OBSERVE the server reports, and
redis_stats.error, redis_stats.restart_on_error. Fixed from Circus: the timeout is passed as
redis-py's socket timeouts (Circus passed it positionally to from_url, which redis-py 5 refuses), a
timeout counts as an error (Circus caught only ConnectionError, and a TimeoutError ended the
plugin), and a field a newer Redis no longer reports is skipped instead of raising KeyError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

try:
    import redis
except ImportError as exc:  # the loader names this when a [plugin:NAME] uses RedisObserver
    raise ImportError(
        f"RedisObserver needs redis-py: pip install 'circus-web-stack[redis]' ({exc})"
    ) from None

from circus_web_stack.config.declaration import option
from circus_web_stack.config.kinds import Seconds, Text
from circus_web_stack.plugins.statsd import BaseObserver, ObserverOptions

log = logging.getLogger("circus_web_stack.plugins.redis_observer")

OBSERVE = (
    "pubsub_channels",
    "connected_slaves",
    "lru_clock",
    "connected_clients",
    "keyspace_misses",
    "used_memory",
    "used_memory_peak",
    "total_commands_processed",
    "used_memory_rss",
    "total_connections_received",
    "pubsub_patterns",
    "used_cpu_sys",
    "used_cpu_sys_children",
    "blocked_clients",
    "used_cpu_user",
    "client_biggest_input_buf",
    "mem_fragmentation_ratio",
    "expired_keys",
    "evicted_keys",
    "client_longest_output_list",
    "uptime_in_seconds",
    "keyspace_hits",
)


@dataclass(frozen=True)
class RedisObserverOptions(ObserverOptions):
    application_name: str = option(
        Text(), "redis_observer", "the <app> in metric names circus.<app>.watcher...."
    )
    redis_url: str = option(
        Text(), "redis://localhost:6379/0", "the server: redis://host:port/db, rediss://..., unix:///path"
    )
    timeout: float = option(Seconds(positive=True), 5.0, "seconds the server may take to answer")
    restart_on_timeout: str | None = option(
        Text(optional=True), None, "watcher restarted when the server does not answer"
    )


def info_gauges(info: dict[str, Any]) -> list[tuple[str, float]]:
    """The gauges of one INFO reply: the OBSERVE fields it has, when they are numbers. Pure."""
    return [
        (f"redis_stats.{key}", info[key])
        for key in OBSERVE
        if isinstance(info.get(key), int | float) and not isinstance(info[key], bool)
    ]


class RedisObserver(BaseObserver):
    name = "redis_observer"
    options_model: ClassVar[type] = RedisObserverOptions
    options: RedisObserverOptions

    def __init__(self, *args: Any, **config: Any) -> None:
        super().__init__(*args, **config)
        timeout = self.options.timeout
        self.redis = redis.Redis.from_url(
            self.options.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def look_after(self) -> None:
        try:
            info = self.redis.info()
        except redis.RedisError as exc:
            self.statsd.increment("redis_stats.error")
            watcher = self.options.restart_on_timeout
            log.warning("%s: %s%s", self.options.redis_url, exc, f"; restarting {watcher}" if watcher else "")
            if watcher:
                self.cast("restart", name=watcher)
                self.statsd.increment("redis_stats.restart_on_error")
            return
        for bucket, value in info_gauges(info):
            self.statsd.gauge(bucket, value)

    def handle_stop(self) -> None:
        super().handle_stop()
        self.redis.close()


__all__ = ["OBSERVE", "RedisObserver", "RedisObserverOptions", "info_gauges"]
