"""What benchmarks/rolling_restart.py prints and records: per run, the failed requests and the worst
latency since the first action; across runs, ours against each peer with min/median/max, and the
targets (0 failed, worst latency) checked."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field

from benchmarks.common import (
    Row,
    percentile,
    ratios,
)
from benchmarks.loadgen import WINDOW_S
from benchmarks.rolling_servers import Event, Gunicorn, nearest_event


@dataclass
class Run:
    server: str
    app: str
    round: int
    requests: int
    ok: int
    retried: int
    failures_by_kind: dict[str, int]
    p50_ms: float
    p99_ms: float
    worst_ms: float  # of the requests started once the actions began (what the target compares)
    worst_ms_whole_run: float  # with the warm-up: 100 clients connecting at once
    p99_ms_by_client: dict[str, float]
    load_s: float
    events: list[dict]
    failures: list[dict] = field(default_factory=list)  # each with the nearest event and offset
    slowest: list[dict] = field(default_factory=list)
    leftovers: int = 0

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.load_s if self.load_s else 0.0


def worst_since(timeline: dict[str, list[float]], load_started: float, since: float) -> float:
    """The worst latency of the requests started from `since` on (monotonic seconds), from loadgen's
    timeline of WINDOW_S buckets by start time; the bucket holding `since` counts whole."""
    first = int((since - load_started) / WINDOW_S)
    return max((worst for index, (_, _, worst) in timeline.items() if int(index) >= first), default=0.0)


def summarise(
    server: str, app: str, round_index: int, load: dict, events: list[Event], leftovers: list[int]
) -> Run:
    by_client = {kind: values for kind, values in load["latencies_ms"].items() if values}
    latencies = [value for values in by_client.values() for value in values] or [0.0]
    failures = []
    for failure in load["failures"]:
        near = nearest_event(events, failure["at"])
        failures.append(failure | {"after": near[0] if near else "", "offset_s": near[1] if near else 0.0})
    slowest = []
    for latency_ms, at in load["slowest"]:
        near = nearest_event(events, at)
        slowest.append(
            {"ms": latency_ms, "after": near[0] if near else "", "offset_s": near[1] if near else 0.0}
        )
    return Run(
        server=server,
        app=app,
        round=round_index,
        requests=load["ok"] + len(load["failures"]),
        ok=load["ok"],
        retried=load["retried"],
        failures_by_kind=dict(Counter(f["kind"] for f in load["failures"])),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        worst_ms=worst_since(load["timeline"], load["started"], events[0].started if events else 0.0),
        worst_ms_whole_run=max(latencies),
        p99_ms_by_client={kind: percentile(values, 99) for kind, values in by_client.items()},
        load_s=load["ended"] - load["started"],
        events=[
            asdict(e) | {"started": e.started - load["started"], "ended": e.ended - load["started"]}
            for e in events
        ],
        failures=failures,
        slowest=slowest,
        leftovers=len(leftovers),
    )


# -- report ---------------------------------------------------------------------------------------


def rows_against(runs: list[Run], apps: list[str], peer: str) -> list[Row]:
    rows = []
    for app in apps:
        mine = sorted((r for r in runs if r.app == app and r.server == "ours"), key=lambda r: r.round)
        theirs = sorted((r for r in runs if r.app == app and r.server == peer), key=lambda r: r.round)
        if not mine or not theirs:
            continue
        rows.append(
            Row(f"{app}: failed requests (all rounds)", _total(mine, "failed"), _total(theirs, "failed"), "")
        )
        rows.append(
            Row(f"{app}: requests (all rounds)", _total(mine, "requests"), _total(theirs, "requests"), "")
        )
        for label, metric, unit in (
            ("worst latency once actions began", "worst_ms", "ms"),
            ("p99 latency", "p99_ms", "ms"),
            ("throughput", "requests_per_s", "req/s"),
        ):
            ours_values = [getattr(r, metric) for r in mine]
            peer_values = [getattr(r, metric) for r in theirs]
            rows.append(
                Row(
                    f"{app}: {label} (median of rounds)",
                    statistics.median(ours_values),
                    statistics.median(peer_values),
                    unit,
                    tuple(ratios(ours_values, peer_values)),
                )
            )
    return rows


def _total(runs: list[Run], metric: str) -> float:
    return sum(getattr(r, metric) for r in runs)


def check_targets(runs: list[Run]) -> list[str]:
    lines = []
    ours = [r for r in runs if r.server == "ours"]
    failed = sum(r.failed for r in ours)
    verdict = "met" if failed == 0 else "MISSED"
    lines.append(f"ours failed {failed} of {sum(r.requests for r in ours)} requests (target 0): {verdict}")
    for run in ours:
        peer = next(
            (r for r in runs if r.server == Gunicorn.name and r.app == run.app and r.round == run.round), None
        )
        if peer is None:
            continue
        verdict = "met" if run.worst_ms <= peer.worst_ms else "MISSED"
        lines.append(
            f"{run.app} round {run.round + 1}: ours worst {run.worst_ms:.1f} ms, gunicorn-gevent worst "
            f"{peer.worst_ms:.1f} ms (target: no higher): {verdict}"
        )
    return lines


def describe(run: Run) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(run.failures_by_kind.items())) or "none"
    split = " / ".join(f"{kind} {ms:.1f}" for kind, ms in run.p99_ms_by_client.items())
    return (
        f"{run.requests:7d} requests  {run.failed:4d} failed ({kinds}; {run.retried} retried)  "
        f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:7.2f} ms ({split})  worst {run.worst_ms:7.1f} ms "
        f"(with warm-up {run.worst_ms_whole_run:.1f})  "
        f"{len(run.events)} actions in {run.load_s:.1f} s"
    )


# -- main -----------------------------------------------------------------------------------------
