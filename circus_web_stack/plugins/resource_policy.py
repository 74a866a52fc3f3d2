"""ResourceWatcher's decisions: which processes are over or under their limits, for how many looks in a
row, and which of them are the culprits now. Pure: readings in, counts and culprits out.

Rules (Circus's, per process where Circus took the whole watcher's max): a limit is breached on one
look when max_cpu/max_mem is exceeded, min_cpu/min_mem undercut, or (cpu + mem %) / 2 is above
health_threshold; a process breaching one limit on more than max_count looks in a row is a culprit,
and its counts start again. A reading that could not be taken ("N/A") breaches nothing (Circus read
it as 100 % and restarted processes it could not see). A value of 0 (or none) switches a limit off.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from circus_web_stack.config.kinds import InvalidValue, Kind, quoted

BREACHES = ("over_cpu", "under_cpu", "over_memory", "under_memory", "over_health")

_UNIT_POWERS = {"B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}
_WITH_UNIT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([BKMGTP])B?\s*", re.IGNORECASE)
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%?\s*")


@dataclass(frozen=True)
class MemoryLimit:
    """A memory limit: `value` percent of the machine's memory, or `value` bytes."""

    value: float
    percent: bool

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{int(self.value)} bytes"


class Memory(Kind):
    """A memory limit: a percentage (90, 90%) or a size with a 1024-based unit (250M, 1.5G, 512K)."""

    label = "a % (90) or a size (250M, 1.5G)"

    def parse(self, raw: Any) -> MemoryLimit:
        if isinstance(raw, MemoryLimit):
            return raw
        text = str(raw)
        sized = _WITH_UNIT.fullmatch(text)
        if sized:
            return MemoryLimit(float(sized[1]) * (1 << (10 * _UNIT_POWERS[sized[2].upper()])), percent=False)
        percent = _PERCENT.fullmatch(text)
        if percent and float(percent[1]) <= 100:
            return MemoryLimit(float(percent[1]), percent=True)
        raise InvalidValue(f"{quoted(raw)} is not a memory limit (expected {self.label})")

    def to_text(self, value: Any) -> str:
        return f"{value.value:g}" if value.percent else str(int(value.value))

    def to_json(self, value: Any) -> Any:
        return str(value)


@dataclass(frozen=True)
class Limits:
    max_cpu: float | None = 90.0
    min_cpu: float | None = None
    max_mem: MemoryLimit | None = MemoryLimit(90.0, percent=True)
    min_mem: MemoryLimit | None = None
    health_threshold: float | None = 75.0
    max_count: int = 3


@dataclass(frozen=True)
class Reading:
    """One process on one look; None where the daemon answered N/A."""

    cpu: float | None
    mem_pct: float | None
    rss_bytes: float | None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def reading_of(info: Mapping[str, Any]) -> Reading:
    """A Reading from one process info of the `stats` command."""
    return Reading(_number(info.get("cpu")), _number(info.get("mem")), _number(info.get("rss_bytes")))


def _memory(limit: MemoryLimit, reading: Reading) -> float | None:
    return reading.mem_pct if limit.percent else reading.rss_bytes


def breaches(limits: Limits, reading: Reading) -> frozenset[str]:
    """The limits this one reading breaches."""
    found: set[str] = set()
    if limits.max_cpu and reading.cpu is not None and reading.cpu > limits.max_cpu:
        found.add("over_cpu")
    if limits.min_cpu is not None and reading.cpu is not None and reading.cpu <= limits.min_cpu:
        found.add("under_cpu")
    if limits.max_mem is not None and limits.max_mem.value:
        used = _memory(limits.max_mem, reading)
        if used is not None and used > limits.max_mem.value:
            found.add("over_memory")
    if limits.min_mem is not None:
        used = _memory(limits.min_mem, reading)
        if used is not None and used < limits.min_mem.value:
            found.add("under_memory")
    health = None if reading.cpu is None or reading.mem_pct is None else (reading.cpu + reading.mem_pct) / 2
    if limits.health_threshold and health is not None and health > limits.health_threshold:
        found.add("over_health")
    return frozenset(found)


@dataclass(frozen=True)
class Assessment:
    counts: dict[Hashable, dict[str, int]]  # per process: looks in a row breaching each limit
    breached: dict[Hashable, frozenset[str]]  # this look's breaches, per process
    culprits: tuple[Hashable, ...]  # past max_count: act on these (their counts start again)


def assess(
    limits: Limits, counts: Mapping[Hashable, Mapping[str, int]], readings: Mapping[Hashable, Reading]
) -> Assessment:
    """One look at every process (key: a pid, or (pid, child pid)); processes gone are forgotten."""
    new_counts: dict[Hashable, dict[str, int]] = {}
    breached: dict[Hashable, frozenset[str]] = {}
    culprits: list[Hashable] = []
    for key, reading in readings.items():
        now = breaches(limits, reading)
        before = counts.get(key, {})
        row = {name: (before.get(name, 0) + 1 if name in now else 0) for name in BREACHES}
        breached[key] = now
        if max(row.values()) > limits.max_count:
            culprits.append(key)
            row = dict.fromkeys(BREACHES, 0)
        new_counts[key] = row
    return Assessment(new_counts, breached, tuple(culprits))


__all__ = [
    "BREACHES",
    "Assessment",
    "Limits",
    "Memory",
    "MemoryLimit",
    "Reading",
    "assess",
    "breaches",
    "reading_of",
]
