"""A short run of benchmarks/rolling_restart.py against ours: 100 clients, half keep-alive, through
reloads, incr/decr cycles and a reloadconfig; not one request may fail (issue 5's target)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_short_rolling_restart_benchmark_fails_no_request():
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.rolling_restart",
            "--servers",
            "ours",
            "--apps",
            "hello",
            "--rounds",
            "1",
            "--duration",
            "5",
            "--warmup",
            "1",
            "--tail",
            "1",
            "--clients",
            "100",
            "--reloads",
            "4",
            "--cycles",
            "2",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = REPO / re.search(r"raw figures: (\S+\.json)", run.stdout)[1]
    (ours,) = json.loads(results.read_text())["runs"]
    results.unlink()
    assert ours["requests"] > 1000
    assert ours["failures"] == [], ours["failures_by_kind"]
    assert ours["ok"] == ours["requests"]
    assert ours["leftovers"] == 0
    assert len(ours["events"]) >= 9  # 4 reloads, 2 incr/decr cycles, a reloadconfig all happened
