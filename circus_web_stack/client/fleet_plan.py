"""A rolling deploy across nodes, decided: batch sizes (`--batch 2`, `--batch 25%`), the batches in
order, which batch comes next given the outcomes so far, and the final report.

Rule: pure functions of plain data (node names and outcomes), tested without a process. A batch runs
only when every node before it succeeded; the first failure stops the rollout and every node of a
later batch stays untouched (on its old code).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BatchSize:
    """N nodes at a time, or a percentage of the chosen nodes (rounded up: at least one)."""

    count: int | None = None
    percent: float | None = None

    def of(self, total: int) -> int:
        if total <= 0:
            return 0
        if self.count is not None:
            return min(self.count, total)
        assert self.percent is not None
        return max(1, min(total, math.ceil(total * self.percent / 100 - 1e-9)))

    def __str__(self) -> str:
        return str(self.count) if self.count is not None else f"{self.percent:g}%"


def parse_batch_size(text: str) -> BatchSize:
    """`3` or `25%`; ValueError naming what is valid."""
    raw = text.strip()
    try:
        if raw.endswith("%"):
            percent = float(raw[:-1])
            if not 0 < percent <= 100:
                raise ValueError
            return BatchSize(percent=percent)
        count = int(raw)
        if count < 1:
            raise ValueError
        return BatchSize(count=count)
    except ValueError:
        raise ValueError(
            f"--batch expects a number of nodes (1 or more) or a percentage (1% to 100%), got {text!r}"
        ) from None


def plan_batches(names: Sequence[str], size: BatchSize) -> tuple[tuple[str, ...], ...]:
    """The nodes in batches of `size`, in the order given."""
    step = size.of(len(names))
    return tuple(tuple(names[i : i + step]) for i in range(0, len(names), step)) if step else ()


@dataclass(frozen=True)
class Outcome:
    """How one node's step ended: `ok`, or the reason it failed (the daemon's, or the health check's)."""

    node: str
    ok: bool
    reason: str = ""


def next_batch(batches: Sequence[tuple[str, ...]], outcomes: Mapping[str, Outcome]) -> tuple[str, ...] | None:
    """The batch to run now: the first one not finished, once every earlier node succeeded; None when
    the rollout is over (all done, or a failure stopped it)."""
    for batch in batches:
        finished = [outcomes[n] for n in batch if n in outcomes]
        if any(not o.ok for o in finished):
            return None
        if len(finished) < len(batch):
            return batch if not finished else tuple(n for n in batch if n not in outcomes)
    return None


@dataclass(frozen=True)
class RolloutReport:
    done: tuple[str, ...]
    failed: tuple[Outcome, ...]
    untouched: tuple[str, ...]
    batches_run: int
    batches: int

    @property
    def ok(self) -> bool:
        return not self.failed and not self.untouched

    def summary(self, watcher: str) -> str:
        if self.ok:
            return f"reload {watcher}: done on {len(self.done)} node(s) in {self.batches} batch(es)"
        lines = [
            f"reload {watcher}: stopped in batch {self.batches_run}/{self.batches}: "
            + "; ".join(f"{o.node} failed: {o.reason}" for o in self.failed)
        ]
        lines.append(f"  reloaded: {', '.join(self.done) or 'none'}")
        lines.append(f"  not touched (old code): {', '.join(self.untouched) or 'none'}")
        return "\n".join(lines)


def rollout_report(batches: Sequence[tuple[str, ...]], outcomes: Mapping[str, Outcome]) -> RolloutReport:
    ordered = [n for batch in batches for n in batch]
    run = sum(1 for batch in batches if any(n in outcomes for n in batch))
    return RolloutReport(
        done=tuple(n for n in ordered if n in outcomes and outcomes[n].ok),
        failed=tuple(outcomes[n] for n in ordered if n in outcomes and not outcomes[n].ok),
        untouched=tuple(n for n in ordered if n not in outcomes),
        batches_run=run,
        batches=len(batches),
    )
