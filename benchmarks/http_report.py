"""What benchmarks/http_bench.py prints and records: each wrk run's figures, per (app, server) the
medians and the per-round ratios against the reference server (min / median / max), the workers'
CPU split, and the versions of what ran.

Rule: the table is a pure function of the runs; a ratio compares two servers within one round only.
"""

from __future__ import annotations

import importlib.metadata
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import App
from benchmarks.http_servers import REFERENCE


@dataclass
class Run:
    server: str
    app: str
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    worker_cpu_s: list[float]


def cpu_split(seconds: list[float]) -> str:
    total = sum(seconds)
    if total <= 0:
        return "-"
    return "/".join(f"{100 * s / total:.0f}" for s in seconds)


def ratios(
    runs: list[Run], app: str, server: str, metric: str, reference: str = REFERENCE
) -> tuple[float, float, float, float, float]:
    """(ours median, peer median, min, median, max of per-round ratios) for one metric."""
    mine = {r.round: getattr(r, metric) for r in runs if r.app == app and r.server == server}
    peer = {r.round: getattr(r, metric) for r in runs if r.app == app and r.server == reference}
    per_round = [mine[k] / peer[k] for k in sorted(mine) if peer.get(k)]
    return (
        statistics.median(mine.values()),
        statistics.median(peer.values()),
        min(per_round),
        statistics.median(per_round),
        max(per_round),
    )


def report(runs: list[Run], apps: list[App], servers: list[str], reference: str = REFERENCE) -> str:
    lines = [f"{'case':34} {'ours':>10} {'peer':>10}   ratio (min / median / max)   [peer: {reference}]"]
    for app in apps:
        for server in servers:
            if server == reference:
                continue
            for metric, label, fmt in (
                ("requests_per_s", "req/s", "{:10.0f}"),
                ("p99_ms", "p99 ms", "{:10.2f}"),
            ):
                ours, peer, low, mid, high = ratios(runs, app.name, server, metric, reference)
                case = f"{app.name} {server} {label}"
                lines.append(
                    f"{case:34} {fmt.format(ours)} {fmt.format(peer)}   {low:.2f} / {mid:.2f} / {high:.2f}"
                )
    return "\n".join(lines)


def versions(peers_venv: Path) -> dict[str, str]:
    found = {name: importlib.metadata.version(name) for name in ("gevent", "httptools", "waitress")}
    if (peers_venv / "bin" / "gunicorn").exists():
        gunicorn = subprocess.run(
            [str(peers_venv / "bin" / "gunicorn"), "--version"], capture_output=True, text=True
        )
        found["gunicorn"] = gunicorn.stdout.strip() or gunicorn.stderr.strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    found["wrk"] = (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "?"
    return found
