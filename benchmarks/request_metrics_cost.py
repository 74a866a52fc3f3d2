"""The price of chaussette's request metrics, measured where it is paid: one worker's gevent
Connection serving pipelined hello-world requests over a socketpair, without metrics, with
--request-metrics (counts for circusd) and with --statsd-host (counts and every latency kept for the
statsd timers), in many short rounds that rotate the order. Measured in CPU seconds of this process,
so time the shared machine gives to others does not count; the best round of each variant (timeit's
rule: disturbances only ever add time) is printed beside the median of the per-round ratios. The
reporter's once-a-second flush is included: it
runs once per FLUSH_EVERY requests (a second's worth at the recorded hello-world rate), sending to a
NOTIFY_SOCKET and a statsd port that are bound here and never read.

It complements http_bench (`--servers ours-gevent,ours-gevent-metrics,ours-gevent-statsd
--reference ours-gevent`), whose figures on a shared machine move by more than the 5% budget from one
round to the next: here only the worker's own code runs, with no load generator and no kernel
scheduling between processes in the measured path.

    .venv/bin/python -m benchmarks.request_metrics_cost            # 30 rounds of 5,000 requests
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import gevent
import gevent.socket

from chaussette_compat.backends.connection_context import ConnectionContext
from chaussette_compat.backends.file_wrapper import FileWrapper
from chaussette_compat.backends.gevent_connection import Connection
from chaussette_compat.backends.gevent_server import TURN_SLICE_S
from chaussette_compat.backends.loop_turns import LoopTurns
from chaussette_compat.http.environ import server_environ
from chaussette_compat.http.limits import Limits
from chaussette_compat.http.proxies import DEFAULT_TRUSTED, TrustedProxies
from chaussette_compat.metrics_report import Reporter
from chaussette_compat.options import StatsdAddress
from chaussette_compat.request_metrics import RequestMeter

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
FLUSH_EVERY = 50_000  # requests per reporter flush: one second of one worker at ~50,000 req/s
VARIANTS = ("off", "request-metrics", "statsd")


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"Hello world!"]


class Sinks:
    """A NOTIFY_SOCKET and a statsd port nobody reads: sends cost what they cost, the kernel drops."""

    def __init__(self, tmp: Path) -> None:
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_path = str(tmp / "notify.sock")
        self.notify.bind(self.notify_path)
        self.statsd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.statsd.bind(("127.0.0.1", 0))

    def reporter(self, variant: str) -> Reporter | None:
        if variant == "off":
            return None
        statsd = StatsdAddress("127.0.0.1", self.statsd.getsockname()[1]) if variant == "statsd" else None
        meter = RequestMeter(keep_timings=statsd is not None)
        return Reporter(
            meter,
            statsd=statsd,
            prefix="bench.",
            to_circusd=statsd is None,
            environ={"NOTIFY_SOCKET": self.notify_path},
        )

    def close(self) -> None:
        self.notify.close()
        self.statsd.close()


def context(reporter: Reporter | None) -> ConnectionContext:
    return ConnectionContext(
        app=hello,
        limits=Limits(),
        proxies=TrustedProxies.parse(DEFAULT_TRUSTED),
        base_environ=server_environ(multithread=True, errors=None, file_wrapper=FileWrapper),
        header_timeout_s=10.0,
        keepalive_timeout_s=5.0,
        io_timeout_s=30.0,
        access_log=None,
        turns=LoopTurns(TURN_SLICE_S),
        requests=reporter.meter if reporter is not None else None,
    )


def serve(count: int, reporter: Reporter | None) -> float:
    """CPU seconds this process spent serving `count` pipelined requests on one connection, flushes
    included. CPU time, not wall time: on a shared machine the process is often not running at all,
    and what the metrics cost is CPU (one worker is one core's worth of requests)."""
    server_side, client = gevent.socket.socketpair()
    connection = Connection(context(reporter), server_side, ("127.0.0.1", 40000))
    worker = gevent.spawn(connection.serve)
    client.sendall(REQUEST)
    first = client.recv(65536)
    size = len(first)  # every response has the same length (the Date header's is fixed)
    batch = REQUEST * 1000
    started = time.process_time()
    sender = gevent.spawn(lambda: [client.sendall(batch) for _ in range(count // 1000)])
    received = 0
    flushed_at = 0
    while received < size * (count // 1000) * 1000:
        received += len(client.recv(1 << 20))
        if reporter is not None and received // size - flushed_at >= FLUSH_EVERY:
            flushed_at = received // size
            reporter.flush()
    if reporter is not None:
        reporter.flush()
    elapsed = time.process_time() - started
    sender.join()
    client.close()
    worker.join(timeout=5)
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--requests", type=int, default=5_000, help="per variant per round")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="metrics-cost-") as tmp:
        sinks = Sinks(Path(tmp))
        try:
            serve(2000, None)  # warm-up
            rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
            for round_index in range(args.rounds):
                order = VARIANTS[round_index % 3 :] + VARIANTS[: round_index % 3]
                for variant in order:
                    reporter = sinks.reporter(variant)
                    seconds = serve(args.requests, reporter)
                    rates[variant].append(args.requests / seconds)
                    rate = args.requests / seconds
                    print(f"  round {round_index + 1}/{args.rounds} {variant:16} {rate:9.0f} req/CPU-s")
        finally:
            sinks.close()
    header = f"{'requests per CPU second':24} {'best':>8} {'best off':>8}  best ratio"
    print(f"\n{header}  per-round ratio (min / median / max)")
    for variant in VARIANTS[1:]:
        ratios = [a / b for a, b in zip(rates[variant], rates["off"], strict=True)]
        best, best_off = max(rates[variant]), max(rates["off"])
        print(
            f"{'hello ' + variant:24} {best:8.0f} {best_off:8.0f}  {best / best_off:10.3f}  "
            f"{min(ratios):.3f} / {statistics.median(ratios):.3f} / {max(ratios):.3f}"
        )
    request_s = 1 / max(rates["off"])
    for keep_timings, name in ((False, "request-metrics"), (True, "statsd")):
        added = added_per_request_s(RequestMeter(keep_timings=keep_timings))
        print(
            f"{name}: the counting adds {added * 1e9:.0f} ns per request (best of 50), "
            f"{100 * added / request_s:.1f}% of the best request without metrics ({request_s * 1e6:.1f} us)"
        )
    print(f"\n{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f} at the end")


def added_per_request_s(meter: RequestMeter, repeats: int = 50, number: int = 100_000) -> float:
    """What the gevent Connection does per request for the meter (two clock reads and observe), less
    the same lines with no meter: the best of `repeats` timings, per request."""

    def hot_path(meter: RequestMeter | None, code: int = 200) -> None:
        started = time.perf_counter() if meter is not None else 0.0
        if meter is not None and code:
            meter.observe(code, time.perf_counter() - started)

    with_meter = min(timeit.repeat(lambda: hot_path(meter), number=number, repeat=repeats))
    without = min(timeit.repeat(lambda: hot_path(None), number=number, repeat=repeats))
    return max(0.0, with_meter - without) / number


if __name__ == "__main__":
    main()
