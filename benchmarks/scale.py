"""Scale: one daemon running thousands of light processes (`sleep`), ours at 1,000 and 5,000 and Circus
0.19 at 1,000, side by side, each with its stats streamer on (`statsd = true`, 1 s interval).

For each run it prints: the time until every process is running (and the longest `list NAME` round
trip seen meanwhile: a daemon that blocks while it spawns shows here), the daemon's RSS, the daemon's
CPU% while idle over --idle-s (the streamer running, nobody subscribed), the streamer's CPU% with and
without a subscriber to every `stat.` topic, p50/p99 of `list`, `list NAME`, `status` and `stats NAME`
(the same raw DEALER client for both daemons), and the time to stop everything (SIGTERM until the daemon
and every process are gone).

    .venv/bin/python -m benchmarks.scale --smoke      # 200 processes, short phases: about a minute
    .venv/bin/python -m benchmarks.scale              # ours 1,000 and 5,000, Circus 1,000: about 5 min

Runs are sequential (two daemons at once would measure each other), ours and Circus back to back at the
same size. Circus 0.19 is installed into .venv-peers/circus-0.19 on first use. Raw figures go to
benchmarks/results/scale-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import zmq

from benchmarks import peers
from benchmarks.common import (
    ControlClient,
    Summary,
    format_value,
    machine,
    shown,
    wait_until,
    write_results,
)

OURS_BIN = Path(sys.executable).parent
PEER = "circus-0.19"
WATCHER = "sleepers"
STATS_WATCHER = "circusd-stats"
START_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 120.0
SETTLE_S = 3.0


# -- config (pure) --------------------------------------------------------------------------------


def ini(workdir: Path, processes: int) -> str:
    """The config both daemons run: one watcher of `sleep` processes whose output goes to /dev/null
    (so neither daemon holds two pipes per process), and the stats streamer on."""
    return "\n".join(
        [
            "[circus]",
            f"endpoint = ipc://{workdir / 'control.sock'}",
            f"pubsub_endpoint = ipc://{workdir / 'pubsub.sock'}",
            f"stats_endpoint = ipc://{workdir / 'stats.sock'}",
            "statsd = true",
            "multicast_endpoint =",
            "",
            f"[watcher:{WATCHER}]",
            "cmd = sleep 100000",
            f"numprocesses = {processes}",
            "close_child_stdout = true",
            "close_child_stderr = true",
            "graceful_timeout = 5",
            "",
        ]
    )


# -- figures --------------------------------------------------------------------------------------


@dataclass
class Figures:
    daemon: str
    processes: int
    start_s: float = 0.0
    start_worst_list_ms: float = 0.0
    rss_mb: float = 0.0
    idle_cpu_percent: float = 0.0
    streamer_unwatched_cpu_percent: float = 0.0
    streamer_cpu_percent: float = 0.0
    daemon_cpu_while_streaming_percent: float = 0.0
    stream_messages_per_s: float = 0.0
    latency_ms: dict[str, Summary] = field(default_factory=dict)
    stop_s: float = 0.0
    leftovers: int = 0


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def cpu_percent_over(processes: list[psutil.Process], seconds: float, during=None) -> list[float]:
    """CPU% (100 = one core) of each process over `seconds` of wall time, running `during()` meanwhile."""
    before = [cpu_seconds(p) for p in processes]
    started = time.monotonic()
    if during is not None:
        during(started + seconds)
    remaining = started + seconds - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    elapsed = time.monotonic() - started
    return [(cpu_seconds(p) - b) / elapsed * 100 for p, b in zip(processes, before, strict=True)]


# -- one run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flavour:
    name: str
    circusd: Path


@contextmanager
def started(flavour: Flavour, workdir: Path, processes: int) -> Iterator[subprocess.Popen]:
    workdir.mkdir(parents=True)
    config = workdir / "circus.ini"
    config.write_text(ini(workdir, processes))
    process = subprocess.Popen(
        [str(flavour.circusd), "--log-output", str(workdir / "circusd.log"), str(config)],
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "circusd.stderr").open("wb"),
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:  # an error before the timed stop: clean up without timing
            for child in psutil.Process(process.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    child.kill()
            process.kill()
            process.wait(30)


def measure(
    flavour: Flavour, processes: int, args: argparse.Namespace, tmp: Path, ctx: zmq.Context
) -> Figures:
    figures = Figures(flavour.name, processes)
    workdir = tmp / f"{flavour.name}-{processes}"
    print(f"{flavour.name} with {processes} processes: starting ...", flush=True)
    began = time.monotonic()
    with started(flavour, workdir, processes) as process:
        client = ControlClient(ctx, f"ipc://{workdir / 'control.sock'}")
        try:
            worst = 0.0

            def all_running() -> bool:
                nonlocal worst
                reply, seconds = client.call("list", name=WATCHER)
                worst = max(worst, seconds)
                return len(reply["pids"]) == processes

            wait_until(all_running, START_TIMEOUT_S, f"{processes} processes", poll_s=0.2)
            figures.start_s = time.monotonic() - began
            figures.start_worst_list_ms = worst * 1000
            pids = client.call("list", name=WATCHER)[0]["pids"]
            streamer_pid = wait_until(
                lambda: client.call("list", name=STATS_WATCHER)[0]["pids"], 30, "the stats streamer"
            )[0]
            daemon = psutil.Process(process.pid)
            streamer = psutil.Process(streamer_pid)
            time.sleep(SETTLE_S)
            figures.rss_mb = daemon.memory_info().rss / 1e6
            print(f"  all running after {figures.start_s:.1f}s; idle for {args.idle_s:g}s ...", flush=True)
            figures.idle_cpu_percent, figures.streamer_unwatched_cpu_percent = cpu_percent_over(
                [daemon, streamer], args.idle_s
            )
            print(f"  subscribed to stat. for {args.stream_s:g}s ...", flush=True)
            stream_stats(figures, ctx, workdir, daemon, streamer, args.stream_s)
            print("  timing commands ...", flush=True)
            cases = {
                "list": ("list", {}, args.samples),
                "list NAME": ("list", {"name": WATCHER}, args.samples),
                "status": ("status", {}, args.samples),
                "stats NAME": ("stats", {"name": WATCHER}, args.stats_samples),
            }
            for label, (command, properties, count) in cases.items():
                timings = []
                deadline = time.monotonic() + args.budget_s
                while len(timings) < count and (not timings or time.monotonic() < deadline):
                    timings.append(client.call(command, **properties)[1] * 1000)
                figures.latency_ms[label] = Summary.of(timings)
        finally:
            client.close()
        print("  stopping ...", flush=True)
        children = [psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)]
        stop_began = time.monotonic()
        process.terminate()
        process.wait(STOP_TIMEOUT_S)

        def all_gone() -> bool:
            return not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)

        with contextlib.suppress(TimeoutError):
            wait_until(all_gone, 30, "every process gone")
        figures.stop_s = time.monotonic() - stop_began
        figures.leftovers = sum(1 for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE)
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
    return figures


def stream_stats(
    figures: Figures,
    ctx: zmq.Context,
    workdir: Path,
    daemon: psutil.Process,
    streamer: psutil.Process,
    seconds: float,
) -> None:
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 100_000)
    sub.subscribe(b"stat.")
    sub.connect(f"ipc://{workdir / 'stats.sock'}")
    received = 0

    def drain(until: float) -> None:
        nonlocal received
        while time.monotonic() < until:
            if sub.poll(100):
                while True:
                    try:
                        sub.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    received += 1

    try:
        drain(time.monotonic() + 2.0)  # the subscription reaches the streamer; its first sample
        received = 0
        figures.streamer_cpu_percent, figures.daemon_cpu_while_streaming_percent = cpu_percent_over(
            [streamer, daemon], seconds, during=drain
        )
        figures.stream_messages_per_s = received / seconds
    finally:
        sub.close()


# -- the report (pure) ----------------------------------------------------------------------------

ROWS = [
    ("time until all running", "start_s", "s"),
    ("longest `list NAME` while starting", "start_worst_list_ms", "ms"),
    ("daemon RSS", "rss_mb", "MB"),
    ("daemon CPU% idle", "idle_cpu_percent", "%"),
    ("streamer CPU%, nobody subscribed", "streamer_unwatched_cpu_percent", "%"),
    ("streamer CPU%, subscribed (1 s)", "streamer_cpu_percent", "%"),
    ("daemon CPU% while streaming", "daemon_cpu_while_streaming_percent", "%"),
    ("stats messages/s received", "stream_messages_per_s", ""),
    ("time to stop all", "stop_s", "s"),
    ("processes left after stop", "leftovers", ""),
]


def _value(figures: Figures, key: str) -> float:
    if key.startswith("latency:"):
        _, case, which = key.split(":")
        return getattr(figures.latency_ms[case], which)
    return float(getattr(figures, key))


def report(runs: list[Figures]) -> str:
    """One column per run; `ratio` is ours/Circus at the size both ran (below 1: ours lower)."""
    cases = list(ROWS)
    for case in ("list", "list NAME", "status", "stats NAME"):
        for which in ("p50", "p99"):
            cases.append((f"{case} {which}", f"latency:{case}:{which}", "ms"))
    peer = next((r for r in runs if r.daemon == PEER), None)
    mine = next((r for r in runs if r.daemon == "ours" and peer and r.processes == peer.processes), None)
    headings = [f"{r.daemon} {r.processes}" for r in runs] + (["ratio ours/peer"] if peer and mine else [])
    width = max(len(c[0]) for c in cases)
    lines = [f"{'case':<{width}}  " + "  ".join(f"{h:>16}" for h in headings)]
    for label, key, unit in cases:
        cells = [format_value(_value(r, key), unit) for r in runs]
        if peer and mine:
            theirs = _value(peer, key)
            cells.append(f"{_value(mine, key) / theirs:.3g}" if theirs else "-")
        lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def check_targets(runs: list[Figures]) -> list[str]:
    """The issue's targets at 1,000 processes, and 5,000 running and stopping cleanly."""
    lines = []
    peer = next((r for r in runs if r.daemon == PEER), None)
    for run in (r for r in runs if r.daemon == "ours"):
        if run.processes == 1000:
            checks = [
                ("idle daemon CPU", run.idle_cpu_percent, 1.0, "%"),
                ("`list` p50", run.latency_ms["list"].p50, 5.0, "ms"),
                ("`list NAME` p50", run.latency_ms["list NAME"].p50, 5.0, "ms"),
                ("streamer CPU at 1 s", run.streamer_cpu_percent, 15.0, "%"),
            ]
            for what, value, limit, unit in checks:
                lines.append(
                    f"1000: {what} {value:.3f} {unit} (< {limit:g}): {'met' if value < limit else 'MISSED'}"
                )
            if peer is not None and peer.processes == run.processes:
                for case in ("list", "list NAME", "status", "stats NAME"):
                    ours, theirs = run.latency_ms[case].p50, peer.latency_ms[case].p50
                    verdict = "met" if ours * 5 <= theirs else "MISSED"
                    lines.append(
                        f"1000: `{case}` p50 {theirs / ours:.1f}x better than Circus (>= 5x): {verdict}"
                    )
                ours, theirs = run.idle_cpu_percent, peer.idle_cpu_percent
                verdict = "met" if ours * 5 <= theirs else ("MISSED" if theirs > 0.05 else "both ~0: n/a")
                lines.append(f"1000: idle CPU {ours:.3f}% vs Circus {theirs:.3f}% (>= 5x lower): {verdict}")
        else:
            clean = run.leftovers == 0 and run.start_s > 0
            lines.append(
                f"{run.processes}: started in {run.start_s:.1f}s, stopped in {run.stop_s:.1f}s, "
                f"{run.leftovers} left behind: {'clean' if clean else 'NOT CLEAN'}"
            )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,5000", help="process counts for ours, comma-separated")
    parser.add_argument(
        "--peer-count", type=int, default=1000, help="Circus's process count (0: skip Circus)"
    )
    parser.add_argument("--idle-s", type=float, default=30.0, help="seconds of idle CPU measurement")
    parser.add_argument("--stream-s", type=float, default=10.0, help="seconds of streamer CPU measurement")
    parser.add_argument("--samples", type=int, default=200, help="round trips of list and status")
    parser.add_argument("--stats-samples", type=int, default=20, help="round trips of stats NAME")
    parser.add_argument(
        "--budget-s", type=float, default=20.0, help="seconds at most per command's round trips"
    )
    parser.add_argument("--smoke", action="store_true", help="200 processes, short phases")
    if parser.parse_known_args(argv)[0].smoke:
        parser.set_defaults(
            counts="200", peer_count=200, idle_s=5.0, stream_s=4.0, samples=50, stats_samples=5
        )
    args = parser.parse_args(argv)
    # Every process holds a pidfd in our daemon; let the daemons have all the descriptors allowed.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    ours = Flavour("ours", OURS_BIN / "circusd")
    counts = [int(c) for c in args.counts.split(",") if c]
    plan: list[tuple[Flavour, int]] = []
    circus = peers.ensure(peers.CIRCUS) if args.peer_count else None
    for count in counts:
        plan.append((ours, count))
        if circus is not None and count == args.peer_count:
            plan.append((Flavour(PEER, circus.bin("circusd")), count))
    if circus is not None and args.peer_count not in counts:
        plan.append((Flavour(PEER, circus.bin("circusd")), args.peer_count))
    meta = {"machine": machine(), "settings": vars(args)}
    if circus is not None:
        meta["versions"] = {PEER: peers.version(circus, "circus")}
    ctx = zmq.Context()
    runs: list[Figures] = []
    try:
        with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
            for flavour, count in plan:
                runs.append(measure(flavour, count, args, Path(tmp), ctx))
    finally:
        ctx.term()
    table = report(runs)
    targets = check_targets(runs)
    print()
    print(table)
    print()
    print("\n".join(targets))
    path = write_results(
        "scale", {"meta": meta, "runs": [asdict(r) for r in runs], "table": table, "targets": targets}
    )
    print(f"\nraw figures: {shown(path)}")


if __name__ == "__main__":
    main()
