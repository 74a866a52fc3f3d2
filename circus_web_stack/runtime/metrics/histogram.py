"""A histogram as plain data: upper bounds and one count per bucket, for the daemon's own figures
(command latency, reload durations) and the totals workers report. Pure.

Rule: counts are kept per bucket (not cumulative) and turned into Prometheus's cumulative `le`
buckets only when rendered, so two histograms with the same bounds add up bucket by bucket.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

# Command latency: most commands answer in well under a millisecond, a reload with waiting in minutes.
COMMAND_BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# A rolling reload waits for every new process to be ready: seconds to many minutes.
RELOAD_BOUNDS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


@dataclass
class Histogram:
    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)  # len(bounds) + 1; the last is above every bound
    sum: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)
        if len(self.counts) != len(self.bounds) + 1:
            raise ValueError(f"{len(self.bounds)} bounds need {len(self.bounds) + 1} counts")

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound is in that bound's bucket (Prometheus's `le`)
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def plus(self, bounds: tuple[float, ...], counts: tuple[int, ...] | list[int], total: float) -> Histogram:
        """A new histogram with these counts added; the bounds must be the same."""
        if bounds != self.bounds:
            raise ValueError("histograms with different bounds do not add up")
        return Histogram(
            self.bounds, [a + b for a, b in zip(self.counts, counts, strict=True)], self.sum + total
        )

    def copy(self) -> Histogram:
        return Histogram(self.bounds, list(self.counts), self.sum)

    def cumulative(self) -> list[tuple[float, int]]:
        """Prometheus's buckets: (0.005, observations <= 0.005), ..., (inf, all of them)."""
        buckets = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            buckets.append((float(bound), running))
        return buckets
