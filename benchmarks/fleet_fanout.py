"""Fan-out of `status` to a fleet of 25 daemons against one daemon's round trip (issue 15: under 2x).

Each daemon is a real circusd on a network-namespace host of its own (CurveZMQ over TCP, IPv6
fd00::/8 on a bridge of this run), as the tests build them; it needs root (it skips otherwise).
Rounds interleave the one-node and the 25-node fleet. Two cases:
  cold: a new FleetClient each round, as each `circusctl --fleet` run does: connect, CURVE handshake,
        request, reply (the whole cost a user waits for, less Python's start-up);
  warm: connections kept (a long-lived Python client, the console's case).
It also prints this process's CPU per fan-out: with every daemon on the same 2 cores, the daemons'
own work serialises, which separate hosts would not; the client's share is what fan-out itself costs.

    sudo .venv/bin/python -m benchmarks.fleet_fanout [--nodes 25] [--rounds 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Row, format_table, machine, shown, write_results
from circus_web_stack.client.fleet import FleetClient
from circus_web_stack.client.fleet_file import Fleet, parse_fleet
from circus_web_stack.testing.fleet_hosts import HostFleet
from circus_web_stack.testing.netns import netns_refusal

CLIENT_CPU: dict[int, list[float]] = {}  # nodes -> this process's CPU ms per fan-out (warm)


def timed_status(client: FleetClient) -> float:
    started, cpu = time.perf_counter(), time.process_time()
    results = client.call("status")
    elapsed = time.perf_counter() - started
    CLIENT_CPU.setdefault(len(results), []).append((time.process_time() - cpu) * 1000)
    failed = [name for name, r in results.items() if not r.ok]
    if failed:
        raise SystemExit(f"status failed on {failed}: {[results[n].reason for n in failed]}")
    return elapsed * 1000


def cold(fleet: Fleet) -> float:
    with FleetClient(fleet) as client:
        return timed_status(client)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    refusal = netns_refusal()
    if refusal:
        print(f"fleet_fanout: skipped: {refusal}", file=sys.stderr)
        raise SystemExit(0)
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        print(f"starting {args.nodes} circusd on {args.nodes} namespace hosts ...", flush=True)
        started = time.monotonic()
        with HostFleet(Path(tmp), args.nodes, web=False, shared_keys=True) as hosts:
            print(f"  up in {time.monotonic() - started:.1f}s", flush=True)
            everyone = parse_fleet(hosts.fleet_text())
            one = Fleet(everyone.nodes[:1])
            samples: dict[str, list[float]] = {"cold 1": [], "cold N": [], "warm 1": [], "warm N": []}
            with FleetClient(one) as warm_one, FleetClient(everyone) as warm_all:
                timed_status(warm_one), timed_status(warm_all)  # connect once before the warm rounds
                for round_index in range(args.rounds):
                    order = [("1", one, warm_one), ("N", everyone, warm_all)]
                    for size, fleet, warm in order if round_index % 2 == 0 else reversed(order):
                        samples[f"cold {size}"].append(cold(fleet))
                        samples[f"warm {size}"].append(timed_status(warm))
    rows = [
        Row(
            f"{case} status, {args.nodes} nodes vs 1",
            statistics.median(samples[f"{case} N"]),
            statistics.median(samples[f"{case} 1"]),
            "ms",
            tuple(n / o for n, o in zip(samples[f"{case} N"], samples[f"{case} 1"], strict=True)),
        )
        for case in ("cold", "warm")
    ]
    print()
    print(format_table(rows, "one daemon", title=f"fan-out of status ({args.rounds} rounds, medians)"))
    for key, values in samples.items():
        print(
            f"  {key}: min {min(values):.2f} / median {statistics.median(values):.2f} / "
            f"max {max(values):.2f} ms"
        )
    for nodes, values in sorted(CLIENT_CPU.items()):
        print(f"  client CPU per fan-out to {nodes} node(s): median {statistics.median(values):.2f} ms")
    payload = {"machine": machine(), "nodes": args.nodes, "samples_ms": samples, "client_cpu_ms": CLIENT_CPU}
    path = write_results("fleet_fanout", payload)
    print(f"\nraw figures: {shown(path)}")


if __name__ == "__main__":
    main()
