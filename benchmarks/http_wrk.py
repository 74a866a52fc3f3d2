"""wrk, the load generator of benchmarks/http_bench.py: one run against a port, its output read into
figures, and the CPU seconds the workers spent meanwhile; wrk itself installed from the system's
packages when missing.

Rule: parsing is a pure function of wrk's text and refuses output without the figures it needs;
every wrk run has a timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import psutil

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict[str, float]:
    def latency(percentile: str) -> float:
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match is None:
            raise ValueError(f"no {percentile}% latency in wrk output:\n{output}")
        return float(match.group(1)) * _UNITS[match.group(2)]

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if rps is None:
        raise ValueError(f"no Requests/sec in wrk output:\n{output}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": float(rps.group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": sum(map(int, errors.groups())) if errors else 0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def run_wrk(port: int, path: str, connections: int, threads: int, duration_s: float) -> str:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        "--latency",
        f"http://127.0.0.1:{port}{path}",
    ]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=duration_s + 60).stdout


def cpu_seconds(pids: list[int]) -> list[float]:
    seconds = []
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            seconds.append(times.user + times.system)
        except psutil.Error:
            seconds.append(0.0)
    return seconds


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        sys.exit("wrk is not installed: run 'apt-get install -y wrk' (or your system's equivalent)")
    print("installing wrk from the system's packages ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
