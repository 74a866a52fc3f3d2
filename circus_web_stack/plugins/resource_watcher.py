"""ResourceWatcher: looks at one watcher's processes every loop_rate seconds and acts on those that stay
over (or under) their CPU, memory or health limits for more than max_count looks in a row.

What it does (resource_policy.py decides): a culprit process is killed (`kill`: its stop signal, its
graceful_timeout, then SIGKILL), and the watcher replaces it; when every process of the watcher is a
culprit at once (and it runs all its numprocesses), the watcher is reloaded (`reload`, graceful: new
processes first), which is Circus's restart without the gap. With process_children, a culprit
child gets child_signal (`signal` with pid and childpid: Circus's `child_pid` property does not
exist, so it signalled nothing useful).
Fixed too: min_mem with a unit (250M) is a size, not a percentage. Statsd counters are Circus's:
circus.<app>.watcher._resource_watcher.<watcher>.{over_cpu,...,restarting,error}.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

from circus_web_stack.config.declaration import option
from circus_web_stack.config.kinds import Bool, Int, InvalidValue, Maybe, Number, Text
from circus_web_stack.config.os_kinds import Signal
from circus_web_stack.plugins.resource_policy import Limits, Memory, MemoryLimit, Reading, assess, reading_of
from circus_web_stack.plugins.statsd import BaseObserver, ObserverOptions

log = logging.getLogger("circus_web_stack.plugins.resource_watcher")

_PERCENT = Number(0, label="a % (100 = one core; 0: no limit)")
_OPTIONAL_PERCENT = Maybe(Number(0, label="a %"))


@dataclass(frozen=True)
class ResourceOptions(ObserverOptions):
    watcher: str | None = option(
        Text(optional=True), None, "the watcher to look after", default_doc="(required)"
    )
    service: str | None = option(Text(optional=True), None, "Circus's old name of `watcher` (deprecated)")
    max_cpu: float | None = option(_PERCENT, 90.0, "CPU % above which a process is over")
    min_cpu: float | None = option(_OPTIONAL_PERCENT, None, "CPU % at or below which a process is under")
    max_mem: MemoryLimit | None = option(
        Maybe(Memory()), MemoryLimit(90.0, percent=True), "memory above which a process is over"
    )
    min_mem: MemoryLimit | None = option(Maybe(Memory()), None, "memory below which a process is under")
    health_threshold: float | None = option(
        Number(0, label="a % (0: no limit)"),
        75.0,
        "(cpu % + memory %) / 2 above which a process is unhealthy",
    )
    max_count: int = option(Int(0), 3, "looks in a row a limit may be breached before acting")
    process_children: bool = option(Bool(), False, "look at the processes' children too")
    child_signal: int = option(Signal(), int(signal.SIGTERM), "signal sent to a culprit child")

    def check(self) -> None:
        if not (self.watcher or self.service):
            raise InvalidValue("required option missing (watcher = the watcher to look after)", key="watcher")

    @property
    def watcher_name(self) -> str:
        return self.watcher or self.service or ""

    def limits(self) -> Limits:
        return Limits(
            max_cpu=self.max_cpu,
            min_cpu=self.min_cpu,
            max_mem=self.max_mem,
            min_mem=self.min_mem,
            health_threshold=self.health_threshold,
            max_count=self.max_count,
        )


class ResourceWatcher(BaseObserver):
    name = "resource_watcher"
    options_model: ClassVar[type] = ResourceOptions
    options: ResourceOptions

    def __init__(self, *args: Any, **config: Any) -> None:
        super().__init__(*args, **config)
        self.watcher = self.options.watcher_name
        if self.options.service and not self.options.watcher:
            log.warning("service = is deprecated; write watcher = %s", self.watcher)
        self.limits = self.options.limits()
        self._counts: dict[Hashable, dict[str, int]] = {}

    def _metric(self, what: str) -> str:
        return f"_resource_watcher.{self.watcher}.{what}"

    def look_after(self) -> None:
        info = self.call("stats", name=self.watcher)
        if info.get("status") == "error":
            self.statsd.increment(self._metric("error"))
            log.warning("stats %s failed: %s", self.watcher, info.get("reason"))
            return
        processes = {int(pid): p for pid, p in info.get("info", {}).items() if isinstance(p, dict)}
        readings: dict[Hashable, Reading] = {pid: reading_of(p) for pid, p in processes.items()}
        if self.options.process_children:
            for pid, p in processes.items():
                for child in p.get("children", []):
                    readings[(pid, int(child["pid"]))] = reading_of(child)
        verdict = assess(self.limits, self._counts, readings)
        self._counts = verdict.counts
        for breached in verdict.breached.values():
            for name in sorted(breached):
                self.statsd.increment(self._metric(name))
        if verdict.culprits:
            self._act(verdict.culprits, set(processes), verdict.breached)

    def _numprocesses(self) -> int:
        reply = self.call("get", name=self.watcher, keys=["numprocesses"])
        value = (reply.get("options") or {}).get("numprocesses")
        return value if isinstance(value, int) else 1

    def _act(
        self, culprits: tuple[Hashable, ...], pids: set[int], breached: dict[Hashable, frozenset[str]]
    ) -> None:
        parents = [c for c in culprits if isinstance(c, int)]
        children = [c for c in culprits if isinstance(c, tuple)]
        self.statsd.increment(self._metric("restarting"), len(culprits))
        if parents and set(parents) == pids and len(pids) >= self._numprocesses():
            log.warning(
                "every process of %s is over its limits (%s) for more than %d looks: reloading it",
                self.watcher,
                ", ".join(sorted(breached[parents[0]])),
                self.limits.max_count,
            )
            self.cast("reload", name=self.watcher, graceful=True)
        else:
            for pid in parents:
                log.warning(
                    "%s pid=%d breached %s for more than %d looks: killing it (it is replaced)",
                    self.watcher,
                    pid,
                    ", ".join(sorted(breached[pid])),
                    self.limits.max_count,
                )
                self.cast("kill", name=self.watcher, pid=pid)
        for key in children:
            assert isinstance(key, tuple)
            pid, child = key
            log.warning(
                "%s pid=%d: child %d breached %s: sending it signal %d",
                self.watcher,
                pid,
                child,
                ", ".join(sorted(breached[key])),
                self.options.child_signal,
            )
            self.cast("signal", name=self.watcher, pid=pid, childpid=child, signum=self.options.child_signal)


__all__ = ["ResourceOptions", "ResourceWatcher"]
