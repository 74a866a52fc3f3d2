"""Rolling restarts under load: failed requests and worst latency while the workers are reloaded, for
our circusd, gunicorn 27 (gevent worker, HUP) and Circus 0.19 (reload), side by side.

Each run starts one server with 2 workers, drives it from a separate load process (benchmarks/loadgen.py:
100 clients, half keep-alive, half one request per connection) and meanwhile sends, one after another,
10 reloads, 5 incr/decr cycles and one reload of a changed config (an env var of the web watcher;
gunicorn: its config file's raw_env, then HUP). Every failed request counts; the one retry allowed is
loadgen's (a reused keep-alive connection closed before any byte of a response). The worst latency
compared is that of the requests started once the first action began: the warm-up's 100 clients
connecting at once is not a reload (it is reported too, as "with warm-up"). Runs are interleaved:
each round runs every app on every server, the server order rotating from round to round.

Circus 0.19 runs OUR chaussette (gevent backend) as its worker: Circus's own chaussette only works with
wsgiref on Python 3 (PROTOCOL.md 4.4), so this isolates what the process manager does on a reload.

    .venv/bin/python -m benchmarks.rolling_restart --smoke   # 1 round, 6 s of load per run
    .venv/bin/python -m benchmarks.rolling_restart           # 3 rounds, 30 s per run: the recorded figures

Peers are installed into .venv-peers/ on first use; raw figures go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import zmq

from benchmarks import peers
from benchmarks.common import (
    REPO,
    App,
    ControlClient,
    ErrorReply,
    Row,
    app_env,
    available_apps,
    format_table,
    free_port,
    machine,
    percentile,
    ratios,
    shown,
    stop_process,
    wait_until,
    write_results,
)
from benchmarks.loadgen import WINDOW_S

OURS_BIN = Path(sys.executable).parent
WORKERS = 2
START_TIMEOUT_S = 60.0
ACTION_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0
CONFLICT_RETRIES = 20  # Circus refuses a command while its periodic tick holds the global lock

# -- the plan (pure) ------------------------------------------------------------------------------


def action_plan(reloads: int = 10, cycles: int = 5) -> list[str]:
    """reload / incr / decr interleaved, with one reloadconfig halfway."""
    plan: list[str] = []
    for index in range(max(reloads, cycles)):
        if index < reloads:
            plan.append("reload")
        if index < cycles:
            plan += ["incr", "decr"]
    plan.insert(len(plan) // 2, "reloadconfig")
    return plan


@dataclass
class Event:
    action: str
    started: float  # monotonic
    ended: float
    error: str = ""


def nearest_event(events: list[Event], at: float) -> tuple[str, float] | None:
    """The last event that started at or before `at` (else the first one), and `at` relative to its
    start in seconds."""
    if not events:
        return None
    before = [e for e in events if e.started <= at]
    event = before[-1] if before else events[0]
    return event.action, at - event.started


# -- servers --------------------------------------------------------------------------------------


class Server(ABC):
    """One server under test: a manager with WORKERS workers behind one listening socket."""

    name: str

    def __init__(self, app: App, workdir: Path, env: dict[str, str]) -> None:
        self.app = app
        self.workdir = workdir
        self.env = env
        self.port = free_port()
        self.generation = 1
        self.process: subprocess.Popen | None = None

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def act(self, action: str) -> None:
        """Performs reload, incr, decr or reloadconfig and returns once it is done."""

    def stop(self) -> list[int]:
        assert self.process is not None
        return stop_process(self.process, STOP_TIMEOUT_S)

    def popen(self, argv: list[str], log: str) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=(self.workdir / f"{log}.stdout").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def workers(self) -> list[int]:
        """Live (non-zombie) children of the manager."""
        assert self.process is not None
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []
        live = []
        for child in children:
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    live.append(child.pid)
            except psutil.NoSuchProcess:
                pass
        return live


class Circusd(Server):
    """Our circusd or Circus 0.19's, running our chaussette: the same ini for both."""

    def __init__(
        self, name: str, circusd: Path, app: App, workdir: Path, env: dict[str, str], context: zmq.Context
    ) -> None:
        super().__init__(app, workdir, env)
        self.name = name
        self.circusd = circusd
        self.context = context
        self.config = workdir / "circus.ini"
        self.endpoint = f"ipc://{workdir / 'control.sock'}"
        self.client: ControlClient | None = None

    def ini(self) -> str:
        python_path = "".join(f" --python-path {p}" for p in self.app.python_path)
        return "\n".join(
            [
                "[circus]",
                f"endpoint = {self.endpoint}",
                f"pubsub_endpoint = ipc://{self.workdir / 'pubsub.sock'}",
                "multicast_endpoint =",
                "check_delay = 1",
                "",
                "[socket:web]",
                "host = 127.0.0.1",
                f"port = {self.port}",
                "",
                "[watcher:web]",
                f"cmd = {OURS_BIN / 'chaussette'} --fd $(circus.sockets.web) --log-level warning"
                f"{python_path} {self.app.spec}",
                "use_sockets = true",
                "copy_env = true",
                f"working_dir = {REPO}",
                f"numprocesses = {WORKERS}",
                "",
                "[env:web]",
                f"BENCH_GENERATION = {self.generation}",
                "",
            ]
        )

    def start(self) -> None:
        self.config.write_text(self.ini())
        self.popen(
            [str(self.circusd), "--log-output", str(self.workdir / "circusd.log"), str(self.config)],
            "circusd",
        )
        self.client = ControlClient(self.context, self.endpoint)
        wait_until(
            lambda: len(self.call("list", name="web").get("pids", [])) == WORKERS,
            START_TIMEOUT_S,
            f"{self.name}: {WORKERS} web processes",
            poll_s=0.2,
        )

    def call(self, command: str, **properties: object) -> dict:
        """A control command, retried while Circus answers that its global lock is taken."""
        assert self.client is not None
        for _ in range(CONFLICT_RETRIES):
            try:
                return self.client.call(command, ACTION_TIMEOUT_S, **properties)[0]
            except ErrorReply as exc:
                if "already running" not in str(exc.reply.get("reason")):
                    raise
                time.sleep(0.05)
        raise RuntimeError(f"{self.name}: {command} refused {CONFLICT_RETRIES} times (command lock)")

    def act(self, action: str) -> None:
        if action == "reload":
            self.call("reload", name="web", graceful=True, waiting=True)
        elif action in ("incr", "decr"):
            self.call(action, name="web", nb=1, waiting=True)
        elif action == "reloadconfig":
            before = set(self.call("list", name="web")["pids"])
            self.generation += 1
            self.config.write_text(self.ini())
            self.call("reloadconfig", waiting=True)
            # The changed env must have replaced the processes, or this measured nothing.
            wait_until(
                lambda: not before & set(self.call("list", name="web")["pids"]),
                ACTION_TIMEOUT_S,
                f"{self.name}: reloadconfig to replace the web processes",
                poll_s=0.05,
            )
        else:
            raise ValueError(action)

    def stop(self) -> list[int]:
        if self.client is not None:
            self.client.close()
        return super().stop()


class Gunicorn(Server):
    """gunicorn -k gevent -w 2: HUP reloads (and re-reads its config file), TTIN/TTOU scale."""

    name = "gunicorn-gevent"

    def __init__(self, gunicorn: Path, app: App, workdir: Path, env: dict[str, str]) -> None:
        super().__init__(app, workdir, env)
        self.gunicorn = gunicorn
        self.config = workdir / "gunicorn_conf.py"
        self.expected = WORKERS

    def conf(self) -> str:
        return f"raw_env = ['BENCH_GENERATION={self.generation}']\n"

    def start(self) -> None:
        self.config.write_text(self.conf())
        python_path = [arg for p in self.app.python_path for arg in ("--pythonpath", p)]
        argv = [
            str(self.gunicorn),
            "-c",
            str(self.config),
            "-k",
            "gevent",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            "--chdir",
            str(REPO),
            *python_path,
            self.app.spec,
        ]
        self.popen(argv, "gunicorn")
        wait_until(lambda: len(self.workers()) == WORKERS, START_TIMEOUT_S, f"{WORKERS} gunicorn workers")

    def act(self, action: str) -> None:
        assert self.process is not None
        before = set(self.workers())
        if action == "reloadconfig":
            self.generation += 1
            self.config.write_text(self.conf())
        signum = {"reload": signal.SIGHUP, "reloadconfig": signal.SIGHUP, "incr": signal.SIGTTIN}
        self.expected += {"incr": 1, "decr": -1}.get(action, 0)
        os.kill(self.process.pid, signum.get(action, signal.SIGTTOU))

        def done() -> bool:
            # Done means what circusd's `waiting` means: the new set of workers is up, the old ones
            # that had to go have gone (after draining).
            now = set(self.workers())
            if action in ("reload", "reloadconfig"):
                return len(now) == self.expected and not now & before
            return len(now) == self.expected and now != before

        wait_until(done, ACTION_TIMEOUT_S, f"gunicorn {action} to complete", poll_s=0.02)


# -- one run --------------------------------------------------------------------------------------


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


def measure(server: Server, app: App, round_index: int, args: argparse.Namespace) -> Run:
    out = server.workdir / "load.json"
    events: list[Event] = []
    load: subprocess.Popen | None = None
    leftovers: list[int] = []
    try:
        server.start()
        load = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.loadgen",
                "--port",
                str(server.port),
                "--path",
                app.path,
                "--clients",
                str(args.clients),
                "--max-duration",
                str(args.duration + ACTION_TIMEOUT_S * 3),
                "--think",
                str(args.think_ms / 1000),
                "--out",
                str(out),
            ],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
        )
        # Pacing, not synchronisation: the clients ramp up, then the actions are spread evenly over
        # the run, each starting at its slot or as soon as the previous one is done.
        time.sleep(args.warmup)
        plan = action_plan(args.reloads, args.cycles)
        first = time.monotonic()
        spacing = max(0.0, args.duration - args.warmup - args.tail) / len(plan)
        for index, action in enumerate(plan):
            delay = first + index * spacing - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            started = time.monotonic()
            error = ""
            try:
                server.act(action)
            except (ErrorReply, TimeoutError, RuntimeError) as exc:
                error = str(exc)
                print(f"    {server.name}: {action} failed: {exc}", flush=True)
            events.append(Event(action, started, time.monotonic(), error))
        time.sleep(args.tail)
    except BaseException:
        for log in sorted(server.workdir.glob("*.log")) + sorted(server.workdir.glob("*.stdout")):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            sys.stderr.write(f"--- {server.name}: {log.name} (last lines)\n{tail}\n")
        raise
    finally:
        if load is not None:
            if load.poll() is None:
                load.send_signal(signal.SIGTERM)
            try:
                load.wait(60)
            except subprocess.TimeoutExpired:
                load.kill()
                load.wait(10)
        if server.process is not None:
            leftovers = server.stop()
    return summarise(server.name, app.name, round_index, json.loads(out.read_text()), events, leftovers)


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds over which the actions are spread"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before the first action")
    parser.add_argument("--tail", type=float, default=2.0, help="seconds of load after the last action")
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (half keep-alive)")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="pause of each client between requests (0: closed loop)"
    )
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=5, help="incr/decr cycles")
    parser.add_argument(
        "--apps", default=None, help="comma-separated; default: hello,io10ms (+django if present)"
    )
    parser.add_argument("--servers", default="ours,gunicorn-gevent,circus-0.19", help="comma-separated")
    parser.add_argument("--smoke", action="store_true", help="1 round, 6 s per run")
    if parser.parse_known_args(argv)[0].smoke:  # smoke settings are defaults: explicit flags still win
        parser.set_defaults(rounds=1, duration=6.0, warmup=1.0, tail=1.0)
    args = parser.parse_args(argv)

    known = available_apps()
    app_names = args.apps.split(",") if args.apps else list(known)
    servers = args.servers.split(",")
    unknown = [a for a in app_names if a not in known] + [
        s for s in servers if s not in ("ours", Gunicorn.name, peers.CIRCUS.name)
    ]
    if unknown:
        parser.error(f"unknown app or server: {', '.join(unknown)}")
    apps = [known[name] for name in app_names]
    # What the apps import must be in gunicorn's venv too, at our venv's versions.
    app_packages = sorted(
        {f"{p}=={importlib.metadata.version(p)}" for app in apps for p in app.peer_packages}
    )
    gunicorn = peers.ensure(peers.GUNICORN, app_packages) if Gunicorn.name in servers else None
    circus = peers.ensure(peers.CIRCUS) if peers.CIRCUS.name in servers else None

    context = zmq.Context()
    runs: list[Run] = []
    try:
        with tempfile.TemporaryDirectory(prefix="rolling-restart-") as tmp:
            envs = {app.name: app_env(app, Path(tmp)) for app in apps}
            for app in apps:
                if app.setup:  # Django's migrate, once, into the scratch directory
                    subprocess.run(
                        [sys.executable, *app.setup],
                        env=envs[app.name],
                        cwd=REPO,
                        check=True,
                        capture_output=True,
                        timeout=300,
                    )
            for round_index in range(args.rounds):
                shift = round_index % len(servers)
                order = servers[shift:] + servers[:shift]
                for app in apps:
                    for name in order:
                        workdir = Path(tmp) / f"{round_index}-{app.name}-{name}"
                        workdir.mkdir()
                        env = envs[app.name]
                        server: Server
                        if name == "ours":
                            server = Circusd("ours", OURS_BIN / "circusd", app, workdir, env, context)
                        elif name == Gunicorn.name:
                            assert gunicorn is not None
                            server = Gunicorn(gunicorn.bin("gunicorn"), app, workdir, env)
                        else:
                            assert circus is not None
                            server = Circusd(name, circus.bin("circusd"), app, workdir, env, context)
                        run = measure(server, app, round_index, args)
                        runs.append(run)
                        print(
                            f"  {app.name:7} round {round_index + 1}/{args.rounds} {name:16} {describe(run)}",
                            flush=True,
                        )
                        for failure in run.failures[:10]:
                            print(
                                f"      failed: {failure['kind']} {failure['detail']!r} "
                                f"{failure['offset_s'] * 1000:.0f} ms after {failure['after']} start",
                                flush=True,
                            )
    finally:
        context.term()

    tables = [format_table(rows_against(runs, app_names, peer), peer) for peer in servers if peer != "ours"]
    targets = check_targets(runs)
    print()
    print("\n\n".join(tables))
    print()
    print("\n".join(targets))
    versions = {}
    if gunicorn:
        versions["gunicorn"] = peers.version(gunicorn, "gunicorn")
        versions["gevent (gunicorn's venv)"] = peers.version(gunicorn, "gevent")
    if circus:
        versions["circus"] = peers.version(circus, "circus")
    path = write_results(
        "rolling_restart",
        {
            "meta": {
                "machine": machine(),
                "settings": vars(args),
                "versions": versions,
                "plan": action_plan(args.reloads, args.cycles),
            },
            "runs": [asdict(r) for r in runs],
            "tables": tables,
            "targets": targets,
        },
    )
    print(f"\nraw figures: {shown(path)}")


if __name__ == "__main__":
    main()
