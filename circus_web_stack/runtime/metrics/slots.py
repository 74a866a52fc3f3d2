"""Counters per worker slot (watcher, wid) that stay monotonic while the processes in the slot come and
go: CPU seconds and the request figures workers report. Pure: readings in, totals out.

Rule: a slot's total is what its past processes had reached (their last reading, folded into the
slot's base) plus what its current one has. So a recycled or SIGKILLed worker's work is never lost
from the series, no file is left anywhere, and the series is one per slot, never per pid. What a
process did after its last reading is lost: its last scrape for CPU, its last report (at most a
report interval) for requests. A retired worker's late report is still taken for GRACE_S.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from circus_web_stack.protocol.request_metrics import WorkerTotals
from circus_web_stack.runtime.metrics.histogram import Histogram

Slot = tuple[str, str]  # (watcher, wid)

# A worker's report sent just before it exited may arrive after its reap.
GRACE_S = 10.0


@dataclass
class CpuSlots:
    """CPU seconds per slot: the readings of whichever process holds the slot at each scrape."""

    _base: dict[Slot, float] = field(default_factory=dict)
    _current: dict[Slot, tuple[int, float]] = field(default_factory=dict)  # slot -> (pid, cpu seconds)

    def observe(self, slot: Slot, pid: int, cpu_s: float) -> None:
        previous = self._current.get(slot)
        if previous is not None and previous[0] != pid:
            self._base[slot] = self._base.get(slot, 0.0) + previous[1]
        elif previous is not None:
            cpu_s = max(cpu_s, previous[1])
        self._current[slot] = (pid, cpu_s)

    def totals(self) -> dict[Slot, float]:
        slots = set(self._base) | set(self._current)
        return {s: self._base.get(s, 0.0) + self._current.get(s, (0, 0.0))[1] for s in slots}

    def keep_watchers(self, watchers: set[str]) -> None:
        """Forget the slots of every watcher not in `watchers` (removed)."""
        for table in (self._base, self._current):
            for slot in [s for s in table if s[0] not in watchers]:
                del table[slot]


@dataclass
class SlotRequests:
    statuses: dict[str, int]
    latency: Histogram


@dataclass
class _Worker:
    slot: Slot
    last: WorkerTotals
    retired_at: float | None = None


@dataclass
class RequestSlots:
    """The request figures workers report, summed per slot over every process it ever held."""

    _base: dict[Slot, SlotRequests] = field(default_factory=dict)
    _workers: dict[int, _Worker] = field(default_factory=dict)  # by pid

    def slot_of(self, pid: int) -> Slot | None:
        worker = self._workers.get(pid)
        return worker.slot if worker is not None else None

    def report(self, slot: Slot, pid: int, totals: WorkerTotals) -> None:
        worker = self._workers.get(pid)
        if worker is None:
            self._workers[pid] = _Worker(slot, totals)
            return
        worker.last = totals

    def retire(self, pid: int, now: float) -> None:
        """`pid` was reaped at `now`: its figures join its slot's base after GRACE_S."""
        worker = self._workers.get(pid)
        if worker is not None and worker.retired_at is None:
            worker.retired_at = now

    def expire(self, now: float) -> None:
        for pid, worker in list(self._workers.items()):
            if worker.retired_at is not None and now - worker.retired_at >= GRACE_S:
                base = self._base.get(worker.slot)
                self._base[worker.slot] = _add(base, worker.last)
                del self._workers[pid]

    def forget_watcher(self, watcher: str) -> None:
        for slot in [s for s in self._base if s[0] == watcher]:
            del self._base[slot]
        for pid in [p for p, w in self._workers.items() if w.slot[0] == watcher]:
            del self._workers[pid]

    def totals(self) -> dict[Slot, SlotRequests]:
        result = {slot: SlotRequests(dict(r.statuses), r.latency.copy()) for slot, r in self._base.items()}
        for worker in self._workers.values():
            result[worker.slot] = _add(result.get(worker.slot), worker.last)
        return result


def _add(figures: SlotRequests | None, totals: WorkerTotals) -> SlotRequests:
    """`figures` plus one worker's totals. Bounds that differ from the slot's (a worker of another
    version) start the slot afresh: Prometheus reads it as a counter reset, not as a wrong sum."""
    if figures is None or figures.latency.bounds != totals.bounds:
        return SlotRequests(
            dict(totals.statuses), Histogram(totals.bounds, list(totals.buckets), totals.sum_s)
        )
    statuses = dict(figures.statuses)
    for key, count in totals.statuses.items():
        statuses[key] = statuses.get(key, 0) + count
    return SlotRequests(statuses, figures.latency.plus(totals.bounds, totals.buckets, totals.sum_s))
