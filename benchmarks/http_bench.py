"""HTTP benchmark: our WSGI server against gunicorn, side by side, with wrk as the load generator.

Every server runs 2 workers (--workers) on one listening socket: ours under circusd, which binds it and
runs `chaussette --fd N` workers on it, as users deploy it; gunicorn on a socket this script binds and
passes down as an inherited descriptor (fd://N). Rounds are interleaved: in
each round every server gets one wrk run per app, in a rotating order, so drift on a shared machine
hits all of them alike. It prints `case  ours  peer  ratio (min / median / max)` with gunicorn's
gevent worker as the peer, and writes the raw figures as JSON to benchmarks/results/.

    .venv/bin/python -m benchmarks.http_bench --smoke          # 2 rounds of 3 s: a quick look
    .venv/bin/python -m benchmarks.http_bench                  # 5 rounds of 10 s: the recorded figures

Peers (gunicorn[gevent]) live in their own venv (--peers-venv, default benchmarks/.venv-peers), created
on first use, so they never become project dependencies. wrk comes from the system's packages
(installed with apt-get when missing and we are root). To add a case, add a function that returns a
`Running` and list it in benchmarks/http_servers.py's SERVERS.

The parts: benchmarks/http_servers.py starts the servers, benchmarks/http_wrk.py drives wrk and reads
its output, benchmarks/http_report.py makes the table; this module interleaves the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.common import REPO, RESULTS, App, app_env, available_apps
from benchmarks.http_report import Run, cpu_split, report, versions
from benchmarks.http_servers import (
    DEFAULT_PEERS_VENV,
    DEFAULT_SERVERS,
    REFERENCE,
    SERVERS,
    Context,
    Running,
    ensure_peers,
)
from benchmarks.http_wrk import cpu_seconds, ensure_wrk, parse_wrk, run_wrk


def measure(args: argparse.Namespace, apps: list[App], servers: list[str], ctx: Context) -> list[Run]:
    runs: list[Run] = []
    for app in apps:
        running: dict[str, Running] = {}
        if app.setup:
            subprocess.run(
                [sys.executable, *app.setup],
                env=app_env(app, ctx.tmp),
                cwd=REPO,
                check=True,
                capture_output=True,
                timeout=300,
            )
        try:
            for name in servers:
                running[name] = SERVERS[name](app, ctx)
                run_wrk(
                    running[name].port,
                    app.path,
                    app.connections or args.connections,
                    args.threads,
                    args.warmup,
                )
            for round_index in range(args.rounds):
                order = servers[round_index % len(servers) :] + servers[: round_index % len(servers)]
                for name in order:
                    server = running[name]
                    pids = server.worker_pids()
                    before = cpu_seconds(pids)
                    output = run_wrk(
                        server.port,
                        app.path,
                        app.connections or args.connections,
                        args.threads,
                        args.duration,
                    )
                    after = cpu_seconds(pids)
                    figures = parse_wrk(output)
                    run = Run(
                        name,
                        app.name,
                        round_index,
                        worker_cpu_s=[b - a for a, b in zip(before, after, strict=True)],
                        **figures,
                    )
                    runs.append(run)
                    print(
                        f"  {app.name:8} round {round_index + 1}/{args.rounds} {name:16} "
                        f"{run.requests_per_s:10.0f} req/s  p99 {run.p99_ms:8.2f} ms  "
                        f"errors {run.errors + run.non_2xx}  cpu split {cpu_split(run.worker_cpu_s)}",
                        flush=True,
                    )
        finally:
            for server in running.values():
                server.stop()
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk before the first round")
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server")
    parser.add_argument(
        "--apps", default=None, help="comma-separated; default: hello,io10ms (+django if present)"
    )
    parser.add_argument(
        "--servers", default=",".join(DEFAULT_SERVERS), help=f"comma-separated from {', '.join(SERVERS)}"
    )
    parser.add_argument(
        "--reference",
        default=REFERENCE,
        help=f"the server every ratio is against (default: {REFERENCE}; ours-gevent to price an option)",
    )
    parser.add_argument("--smoke", action="store_true", help="2 rounds of 3 s with 1 s warm-up")
    parser.add_argument("--peers-venv", type=Path, default=DEFAULT_PEERS_VENV)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.duration, args.warmup = 2, 3.0, 1.0

    known_apps = available_apps()
    app_names = args.apps.split(",") if args.apps else list(known_apps)
    unknown = [name for name in app_names if name not in known_apps]
    servers = args.servers.split(",")
    unknown += [name for name in servers if name not in SERVERS]
    if unknown:
        parser.error(f"unknown app or server: {', '.join(unknown)}")
    if args.reference not in servers:
        parser.error(f"--servers must include {args.reference}, the server every ratio is against")
    apps = [known_apps[name] for name in app_names]

    ensure_wrk()
    if any(name.startswith("gunicorn") for name in servers):
        ensure_peers(args.peers_venv, apps)
    with tempfile.TemporaryDirectory(prefix="http-bench-") as tmp:
        ctx = Context(args.workers, args.peers_venv, Path(tmp))
        runs = measure(args, apps, servers, ctx)

    table = report(runs, apps, servers, args.reference)
    print()
    print(table)
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = args.output / f"http_bench-{stamp}.json"
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": versions(args.peers_venv),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "apps": [asdict(app) for app in apps],
        "servers": servers,
        "reference": args.reference,
    }
    path.write_text(
        json.dumps({"meta": meta, "runs": [asdict(run) for run in runs], "table": table}, indent=2)
    )
    print(f"\nraw figures: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    main()
