"""Circus's statsd plugins: StatsdEmitter counts every event, FullStats gauges every watcher's processes
every loop_rate seconds; BaseObserver is the periodic base of FullStats and the observers.

Metric names are Circus's: `circus.<application_name>.watcher.<watcher>.<event>` (counters) and
`circus.<application_name>.watcher._stats.<watcher>.{cpu_max,cpu_sum,mem_pct_max,mem_pct_sum,
mem_max,mem_sum,watchers_num}` (gauges; mem in bytes). Fixed: `active` and the other options reach
the base class (Circus's StatsdEmitter dropped them), a process whose CPU reads "N/A" is skipped
(Circus's max() over str and float raised), and watcher names are cleaned for statsd.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from circus_web_stack.config.declaration import option
from circus_web_stack.config.kinds import Int, Number, Seconds, Text
from circus_web_stack.plugins.base import CircusPlugin, PeriodicPlugin
from circus_web_stack.plugins.statsd_client import StatsdClient


@dataclass(frozen=True)
class StatsdOptions:
    host: str = option(Text(), "localhost", "the statsd server's host")
    port: int = option(Int(1, 65535), 8125, "the statsd server's UDP port")
    sample_rate: float = option(
        Number(0.0, 1.0, label="a number from 0 to 1"), 1.0, "share of the metrics sent (1: all)"
    )
    application_name: str = option(Text(), "app", "the <app> in metric names circus.<app>.watcher....")


@dataclass(frozen=True)
class ObserverOptions(StatsdOptions):
    loop_rate: float = option(Seconds(positive=True), 60.0, "seconds between two looks")


class StatsdEmitter(CircusPlugin):
    """Counts each event as circus.<app>.watcher.<watcher>.<event>."""

    name = "statsd"
    options_model: ClassVar[type] = StatsdOptions
    options: StatsdOptions

    def __init__(self, *args: Any, **config: Any) -> None:
        super().__init__(*args, **config)
        self.app = self.options.application_name
        self.prefix = f"circus.{self.app}.watcher"
        self.statsd = StatsdClient(
            host=self.options.host,
            port=self.options.port,
            prefix=self.prefix,
            sample_rate=self.options.sample_rate,
        )

    def handle_recv(self, data: Any) -> None:
        watcher, action, _ = self.split_data(data)
        self.statsd.increment(f"{watcher}.{action}")

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.statsd.stop()


class BaseObserver(PeriodicPlugin, StatsdEmitter):
    """Calls look_after() every loop_rate seconds; events are not counted."""

    options_model: ClassVar[type] = ObserverOptions
    options: ObserverOptions


def _numbers(infos: Mapping[str, Any], key: str) -> list[float]:
    return [
        float(info[key])
        for info in infos.values()
        if isinstance(info, dict)
        and isinstance(info.get(key), int | float)
        and not isinstance(info[key], bool)
    ]


def watcher_gauges(name: str, infos: Mapping[str, Any]) -> list[tuple[str, float]]:
    """FullStats' gauges of one watcher from its `stats` infos ({pid: info}). Pure."""
    processes = [info for info in infos.values() if isinstance(info, dict)]
    gauges: list[tuple[str, float]] = [(f"_stats.{name}.watchers_num", len(processes))]
    for metric, key in (("cpu", "cpu"), ("mem_pct", "mem"), ("mem", "rss_bytes")):
        values = _numbers(infos, key)
        if values:
            gauges += [
                (f"_stats.{name}.{metric}_max", max(values)),
                (f"_stats.{name}.{metric}_sum", sum(values)),
            ]
    return gauges


class FullStats(BaseObserver):
    """Gauges of every watcher (plugins left out) from `stats`, every loop_rate seconds."""

    name = "full_stats"

    def look_after(self) -> None:
        info = self.call("stats")
        if info.get("status") == "error":
            self.statsd.increment("_stats.error")
            return
        for name, infos in info.get("infos", {}).items():
            if name.startswith("plugin:"):
                continue
            for bucket, value in watcher_gauges(name, infos):
                self.statsd.gauge(bucket, value)


__all__ = ["BaseObserver", "FullStats", "ObserverOptions", "StatsdEmitter", "StatsdOptions", "watcher_gauges"]
