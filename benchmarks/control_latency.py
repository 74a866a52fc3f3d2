"""Control-plane latency: `list`, `list NAME`, `status` and `stats NAME` round trips against our circusd
and Circus 0.19's, side by side, on a small config and on one watcher of 1,000 `sleep` processes.

Both daemons get the same ini (only the endpoints differ) and the same raw pyzmq DEALER client sending
Circus's wire format, so the figures compare the daemons, not the clients. Rounds are interleaved:
in each round every command is timed against one daemon then the other, the order alternating from
round to round. Two more cases:
  - `list small` sent while a `stats big` on the 1,000-process watcher is in flight: Circus runs
    commands one at a time, so the list waits out the whole stats; ours should answer at once;
  - the end-to-end `circusctl list` (process start included) of each project against its own daemon.

    .venv/bin/python -m benchmarks.control_latency --smoke   # 200 processes, 2 short rounds
    .venv/bin/python -m benchmarks.control_latency           # 1,000 processes, the recorded figures

Circus 0.19 is installed into .venv-peers/circus-0.19 on first use. Raw figures go to
benchmarks/results/control_latency-<time>.json. The daemons are started by
benchmarks/control_daemons.py and the table and targets made by benchmarks/control_report.py; this
module times the round trips.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import zmq

from benchmarks import peers
from benchmarks.common import (
    CALL_TIMEOUT_S,
    ControlClient,
    ErrorReply,
    format_table,
    machine,
    shown,
    write_results,
)
from benchmarks.control_daemons import Flavour, RunningDaemon, running_daemon
from benchmarks.control_report import Samples, check_targets, rows_for

OURS_BIN = Path(sys.executable).parent
PEER = "circus-0.19"
# Between sending `stats big` and `list small` in the concurrency probe: enough for the daemon to have
# taken the stats off its socket first, far less than either daemon needs to answer it.
PROBE_OFFSET_S = 0.001
# A probe shows something only if the stats was still outstanding this long after the list was sent.
# A list that does not wait behind the stats can still lose a few GIL switch intervals (5 ms each) to
# a sampling thread, so the margin is several of them.
PROBE_MARGIN_S = 0.020


# -- measurements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    label: str
    command: str
    properties: dict[str, object] = field(default_factory=dict)


def time_batch(client: ControlClient, command: Command, count: int, budget_s: float) -> list[float]:
    """Up to `count` round trips, stopping early once `budget_s` is spent (always at least one)."""
    timings: list[float] = []
    deadline = time.monotonic() + budget_s
    while len(timings) < count and (not timings or time.monotonic() < deadline):
        timings.append(client.call(command.command, **command.properties)[1])
    return timings


def probe_concurrent(daemon: RunningDaemon, slow: Command, fast: Command) -> dict[str, float | bool]:
    """Sends `slow` on one client and, while it is in flight, `fast` on the other, noting when each
    reply arrives. `waited`: the fast reply came after the slow one. `conclusive`: the slow one was
    still outstanding PROBE_MARGIN_S after the fast one was sent (else the probe shows nothing)."""
    sockets = {daemon.probe.socket: "slow", daemon.client.socket: "fast"}
    poller = zmq.Poller()
    for sock in sockets:
        poller.register(sock, zmq.POLLIN)
    started = time.perf_counter()
    ids = {"slow": daemon.probe.send(slow.command, **slow.properties)}
    time.sleep(PROBE_OFFSET_S)
    fast_sent = time.perf_counter()
    ids["fast"] = daemon.client.send(fast.command, **fast.properties)
    arrived: dict[str, float] = {}
    deadline = time.monotonic() + CALL_TIMEOUT_S
    while len(arrived) < 2:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{daemon.endpoint}: probe replies missing: {sorted(set(ids) - set(arrived))}")
        for sock, _ in poller.poll(remaining * 1000):
            now = time.perf_counter()
            which = sockets[sock]
            reply = json.loads(sock.recv())
            if reply.get("id") == ids[which]:
                if reply.get("status") == "error":
                    raise ErrorReply(daemon.endpoint, reply)
                arrived[which] = now
    return {
        "fast_s": arrived["fast"] - fast_sent,
        "slow_s": arrived["slow"] - started,
        "waited": arrived["fast"] > arrived["slow"],
        "conclusive": arrived["slow"] - fast_sent > PROBE_MARGIN_S,
    }


def time_circusctl(flavour: Flavour, endpoint: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        done = subprocess.run(
            [str(flavour.circusctl), "--endpoint", endpoint, "list"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        timings.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"{flavour.circusctl} list failed: {done.stdout}{done.stderr}")
    return timings


def round_order(names: list[str], round_index: int) -> list[str]:
    shift = round_index % len(names)
    return names[shift:] + names[:shift]


@dataclass
class Scenario:
    name: str
    watchers: dict[str, int]
    commands: list[Command]


def run_scenario(
    scenario: Scenario, flavours: list[Flavour], args: argparse.Namespace, tmp: Path, context: zmq.Context
) -> tuple[dict[str, dict[str, Samples]], dict[str, list[dict]]]:
    """{case: {daemon: Samples}} for every command of the scenario, plus the probe and circusctl cases;
    and {daemon: [probe]} (see `probe_concurrent`)."""
    results: dict[str, dict[str, Samples]] = {}
    probes: dict[str, list[dict]] = {f.name: [] for f in flavours}
    with ExitStack() as stack:
        print(f"{scenario.name}: starting both daemons ({scenario.watchers}) ...", flush=True)
        daemons = {
            f.name: stack.enter_context(
                running_daemon(f, context, tmp / f"{scenario.name}-{f.name}", scenario.watchers)
            )
            for f in flavours
        }
        for daemon in daemons.values():  # warm-up: first connections, first psutil reads
            for command in scenario.commands:
                daemon.client.call(command.command, **command.properties)
        names = list(daemons)
        for round_index in range(args.rounds):
            for command in scenario.commands:
                slow = command.command == "stats" and scenario.name == "big"
                count = args.slow_samples if slow else args.samples
                for name in round_order(names, round_index):
                    batch = time_batch(daemons[name].client, command, count, args.budget)
                    results.setdefault(command.label, {}).setdefault(name, Samples()).rounds.append(batch)
            if scenario.name == "big":
                label = "list small while stats big runs"
                for name in round_order(names, round_index):
                    for _ in range(args.slow_samples):
                        probe = probe_concurrent(
                            daemons[name],
                            Command("", "stats", {"name": "big"}),
                            Command("", "list", {"name": "small"}),
                        )
                        probes[name].append(probe)
                        results.setdefault(label, {}).setdefault(name, Samples()).rounds.append(
                            [probe["fast_s"]]
                        )
            else:
                label = "circusctl list (end to end)"
                for name in round_order(names, round_index):
                    batch = time_circusctl(daemons[name].flavour, daemons[name].endpoint, args.ctl_samples)
                    results.setdefault(label, {}).setdefault(name, Samples()).rounds.append(batch)
            print(f"  {scenario.name} round {round_index + 1}/{args.rounds} done", flush=True)
    return results, probes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=200, help="round trips per command per round")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds at most per batch of round trips")
    parser.add_argument(
        "--slow-samples", type=int, default=1, help="`stats big` calls (and probes) per daemon per round"
    )
    parser.add_argument("--ctl-samples", type=int, default=10, help="circusctl runs per daemon per round")
    parser.add_argument("--processes", type=int, default=1000, help="processes in the big watcher")
    parser.add_argument("--scenarios", default="small,big", help="comma-separated: small, big")
    parser.add_argument("--smoke", action="store_true", help="2 rounds, 200 processes, small batches")
    if parser.parse_known_args(argv)[0].smoke:  # smoke settings are defaults: explicit flags still win
        parser.set_defaults(rounds=2, samples=50, budget=0.5, ctl_samples=3, processes=200)
    args = parser.parse_args(argv)

    circus = peers.ensure(peers.CIRCUS)
    ours = Flavour("ours", OURS_BIN / "circusd", OURS_BIN / "circusctl")
    peer = Flavour(PEER, circus.bin("circusd"), circus.bin("circusctl"))
    flavours = [ours, peer]
    scenarios = {
        "small": Scenario(
            "small",
            {"web": 2, "worker": 1},
            [
                Command("list", "list"),
                Command("list web", "list", {"name": "web"}),
                Command("status", "status"),
                Command("stats web", "stats", {"name": "web"}),
            ],
        ),
        "big": Scenario(
            "big",
            {"big": args.processes, "small": 1},
            [
                Command("list", "list"),
                Command("list big", "list", {"name": "big"}),
                Command("status", "status"),
                Command("stats big", "stats", {"name": "big"}),
            ],
        ),
    }
    chosen = [scenarios[name] for name in args.scenarios.split(",")]
    meta = {
        "machine": machine(),
        "settings": vars(args),
        "versions": {PEER: peers.version(circus, "circus")},
    }
    all_results: dict[str, dict[str, dict[str, Samples]]] = {}
    probes: dict[str, list[dict]] = {}
    context = zmq.Context()
    try:
        with tempfile.TemporaryDirectory(prefix="control-latency-") as tmp:
            for scenario in chosen:
                all_results[scenario.name], scenario_probes = run_scenario(
                    scenario, flavours, args, Path(tmp), context
                )
                for name, runs in scenario_probes.items():
                    probes.setdefault(name, []).extend(runs)
    finally:
        context.term()

    rows = [row for name, results in all_results.items() for row in rows_for(name, results, "ours", PEER)]
    title = "control round trips" + (
        f"; 'big' has {args.processes} processes" if "big" in all_results else ""
    )
    table = format_table(rows, PEER, title)
    targets = check_targets(all_results, {n: runs for n, runs in probes.items() if runs}, "ours")
    print()
    print(table)
    print()
    print("\n".join(targets))
    raw = {
        scenario: {case: {d: asdict(s) for d, s in by_daemon.items()} for case, by_daemon in results.items()}
        for scenario, results in all_results.items()
    }
    path = write_results(
        "control_latency",
        {"meta": meta, "seconds": raw, "probes": probes, "table": table, "targets": targets},
    )
    print(f"\nraw figures: {shown(path)}")


if __name__ == "__main__":
    main()
