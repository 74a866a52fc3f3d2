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
`Running` and list it in SERVERS.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from benchmarks.common import REPO, RESULTS, App, app_env, available_apps, wait_http

DEFAULT_PEERS_VENV = REPO / "benchmarks" / ".venv-peers"
PEER_PACKAGES = ["gunicorn[gevent]"]
REFERENCE = "gunicorn-gevent"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


# -- servers --------------------------------------------------------------------------------------


@dataclass
class Running:
    """A server under test: its processes, its port, and how to stop it."""

    name: str
    port: int
    processes: list[subprocess.Popen]
    worker_pids: Callable[[], list[int]]
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for step in self.cleanup:
            step()


@dataclass(frozen=True)
class Context:
    workers: int
    peers_venv: Path
    tmp: Path


def bind_listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def start_under_circusd(
    backend: str, *, variant: str = "", metrics: bool = False, statsd: bool = False
) -> Callable[[App, Context], Running]:
    """Ours as users run it: circusd binds the socket and runs `chaussette --fd` workers on it. With
    `metrics`, the workers report their requests to circusd, which serves /metrics; with `statsd`,
    they send them to a statsd port (a UDP socket bound here and never read: the kernel drops what
    overflows, so the workers pay what they would pay a real statsd, and no reader competes for CPU)."""

    def start(app: App, ctx: Context) -> Running:
        run = ctx.tmp / f"circusd-{backend}{variant}-{app.name}"
        run.mkdir(exist_ok=True)
        chaussette = Path(sys.executable).parent / "chaussette"
        ini = run / "circus.ini"
        extra = " --request-metrics" if metrics else ""
        sink = None
        if statsd:
            sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sink.bind(("127.0.0.1", 0))
            extra += f" --statsd-host 127.0.0.1:{sink.getsockname()[1]} --statsd-prefix bench"
        ini.write_text(
            "[circus]\n"
            f"endpoint = ipc://{run}/control.sock\n"
            f"pubsub_endpoint = ipc://{run}/pubsub.sock\n"
            + ("metrics_endpoint = 127.0.0.1:0\n" if metrics else "")
            + "[socket:web]\nhost = 127.0.0.1\nport = 0\n"
            "[watcher:web]\n"
            f"cmd = {chaussette} --fd $(circus.sockets.web) --backend {backend} --log-level warning{extra}\n"
            f"    {app.spec}\n"
            f"numprocesses = {ctx.workers}\nuse_sockets = true\ncopy_env = true\nworking_dir = {REPO}\n"
        )
        log = run / "circusd.log"
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "circusd"), str(ini), "--log-output", str(log)],
            env=app_env(app, ctx.tmp),
            cwd=REPO,
            start_new_session=True,
        )

        def bound_port() -> int | None:
            found = re.search(
                r"bound socket web on 127\.0\.0\.1:(\d+)", log.read_text() if log.exists() else ""
            )
            return int(found[1]) if found else None

        deadline = time.monotonic() + START_TIMEOUT_S
        while (port := bound_port()) is None:
            if time.monotonic() > deadline or daemon.poll() is not None:
                daemon.kill()
                raise RuntimeError(f"circusd did not bind its socket; see {log}")
            time.sleep(0.05)
        wait_http(port, app.path)

        def worker_pids() -> list[int]:
            return [child.pid for child in psutil.Process(daemon.pid).children()]

        running = Running(f"ours-{backend}{variant}", port, [daemon], worker_pids)
        if sink is not None:
            running.cleanup.append(sink.close)
        return running

    return start


def start_gunicorn(worker_class: str) -> Callable[[App, Context], Running]:
    def start(app: App, ctx: Context) -> Running:
        listener = bind_listener()
        fd = listener.fileno()
        gunicorn = ctx.peers_venv / "bin" / "gunicorn"
        argv = [
            str(gunicorn),
            "--bind",
            f"fd://{fd}",
            "--workers",
            str(ctx.workers),
            "--worker-class",
            worker_class,
            "--log-level",
            "warning",
            app.spec,
        ]
        master = subprocess.Popen(argv, pass_fds=[fd], env=app_env(app, ctx.tmp), cwd=REPO)
        port = listener.getsockname()[1]

        def worker_pids() -> list[int]:
            return [child.pid for child in psutil.Process(master.pid).children()]

        wait_http(port, app.path)
        running = Running(f"gunicorn-{worker_class}", port, [master], worker_pids)
        running.cleanup.append(listener.close)
        return running

    return start


#: name -> starter. Every ratio in the table is against --reference (REFERENCE by default). The
#: request-metrics variants (issue 14) are priced against plain ours: --servers
#: ours-gevent,ours-gevent-metrics,ours-gevent-statsd --reference ours-gevent
SERVERS: dict[str, Callable[[App, Context], Running]] = {
    "ours-gevent": start_under_circusd("gevent"),
    REFERENCE: start_gunicorn("gevent"),
    "gunicorn-sync": start_gunicorn("sync"),
    "ours-waitress": start_under_circusd("waitress"),
    "ours-gevent-metrics": start_under_circusd("gevent", variant="-metrics", metrics=True),
    "ours-gevent-statsd": start_under_circusd("gevent", variant="-statsd", statsd=True),
}
DEFAULT_SERVERS = ("ours-gevent", REFERENCE, "gunicorn-sync", "ours-waitress")


# -- wrk ------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


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


# -- setup ----------------------------------------------------------------------------------------


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        sys.exit("wrk is not installed: run 'apt-get install -y wrk' (or your system's equivalent)")
    print("installing wrk from the system's packages ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


#: Exits non-zero unless every "name[extra]==version" (or plain name) argument is installed as asked.
_HAS_PACKAGES = """
import importlib.metadata, sys
for wanted in sys.argv[1:]:
    name, _, version = wanted.partition("==")
    found = importlib.metadata.version(name.split("[")[0])
    if version and found != version:
        sys.exit(1)
"""


def ensure_peers(venv: Path, apps: list[App]) -> None:
    """The peers' venv: gunicorn[gevent], plus what the apps import, at our venv's versions."""
    wanted = list(PEER_PACKAGES)
    wanted += [f"{name}=={importlib.metadata.version(name)}" for app in apps for name in app.peer_packages]
    if not (venv / "bin" / "python").exists():
        print(f"creating {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if subprocess.run(
        [str(venv / "bin" / "python"), "-c", _HAS_PACKAGES, *wanted], capture_output=True
    ).returncode:
        print(f"installing {' '.join(wanted)} into {venv} ...", flush=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *wanted], check=True)


# -- the run --------------------------------------------------------------------------------------


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
