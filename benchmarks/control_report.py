"""What benchmarks/control_latency.py prints and records: per (scenario, case) ours against Circus's
p50 and p99 with the per-round ratios (min / median / max), and the issue's targets checked: the
latencies, and that `list small` never waits behind an in-flight `stats big`.

Rule: pure functions of the samples; a ratio compares two daemons within one round only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.common import Row, Summary, ratios


@dataclass
class Samples:
    """Seconds per round for one (scenario, case, daemon)."""

    rounds: list[list[float]] = field(default_factory=list)

    def all(self) -> list[float]:
        return [value for batch in self.rounds for value in batch]


def rows_for(scenario: str, results: dict[str, dict[str, Samples]], ours: str, peer: str) -> list[Row]:
    rows = []
    for case, by_daemon in results.items():
        mine, theirs = by_daemon[ours], by_daemon[peer]
        for label, pick in (("p50", lambda v: Summary.of(v).p50), ("p99", lambda v: Summary.of(v).p99)):
            per_round = ratios([pick(r) for r in mine.rounds], [pick(r) for r in theirs.rounds])
            rows.append(
                Row(
                    f"{scenario}: {case} {label}",
                    pick(mine.all()) * 1000,
                    pick(theirs.all()) * 1000,
                    "ms",
                    tuple(per_round),
                )
            )
    return rows


# Targets from the issue: (scenario, case, percentile, limit in ms).
TARGETS = [
    ("small", "list", "p50", 0.5),
    ("small", "status", "p50", 0.5),
    ("big", "list big", "p50", 5.0),
    ("big", "stats big", "p50", 100.0),
    ("small", "circusctl list (end to end)", "p50", 80.0),
]


def check_targets(
    all_results: dict[str, dict[str, dict[str, Samples]]], probes: dict[str, list[dict]], ours: str
) -> list[str]:
    lines = []
    for name, runs in probes.items():
        conclusive = [p for p in runs if p["conclusive"]]
        waited = sum(1 for p in conclusive if p["waited"])
        worst_list = max(p["fast_s"] for p in runs) * 1000
        worst_stats = max(p["slow_s"] for p in runs) * 1000
        line = (
            f"big: {name}: `list small` waited behind the in-flight `stats big` in {waited} of "
            f"{len(conclusive)} conclusive probes (list worst {worst_list:.1f} ms, "
            f"stats worst {worst_stats:.1f} ms)"
        )
        if name == ours:
            line += ": met" if conclusive and not waited else ": MISSED" if waited else ": inconclusive"
        lines.append(line)
    for scenario, case, which, limit in TARGETS:
        samples = all_results.get(scenario, {}).get(case, {}).get(ours)
        if samples is None:
            continue
        value = getattr(Summary.of(samples.all()), which) * 1000
        verdict = "met" if value < limit else "MISSED"
        lines.append(f"{scenario}: {case} {which} {value:.3f} ms (target < {limit:g} ms): {verdict}")
    return lines
