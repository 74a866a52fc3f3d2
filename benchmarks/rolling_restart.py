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
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import zmq

from benchmarks import peers
from benchmarks.common import (
    REPO,
    App,
    ErrorReply,
    app_env,
    available_apps,
    format_table,
    machine,
    shown,
    write_results,
)
from benchmarks.rolling_report import Run, check_targets, describe, rows_against, summarise
from benchmarks.rolling_servers import ACTION_TIMEOUT_S, OURS_BIN, Circusd, Event, Gunicorn, Server

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
