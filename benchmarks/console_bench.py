"""The web console with many processes: one watcher of 1,000 `sleep` processes, circusd-stats at 1 s,
circushttpd, and 5 headless Chromium browsers on the overview.

It prints, per browser, the time to first paint (from a page reload to the overview showing every
process) and, over a window with every browser connected, circushttpd's CPU% (target: under 5% of a
core), the browsers' CPU% (all their processes), how many points each browser's chart gained (one a
second: none missed) and how far its last point lags the clock. The same window after the browsers
left gives circushttpd's own cost. There is no peer to run beside it: circus-web, Circus's console, died with
TornadIO2 (PEERS.md 10.1).

    .venv/bin/python -m benchmarks.console_bench --smoke   # 200 processes, 2 browsers, 10 s windows
    .venv/bin/python -m benchmarks.console_bench           # 1,000 processes, 5 browsers, 30 s windows

Raw figures go to benchmarks/results/console_bench-<time>.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psutil

from benchmarks.common import machine, shown, wait_until, write_results
from circus_web_stack.testing.harness import Daemon
from circus_web_stack.web.auth import hash_password
from tests.e2e.console import Console, install_chromium, log_in, open_browser, text

PASSWORD = "bench-password"
CARD = ".watcher-card[data-watcher=sleepers]"


def _cpu_s(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _browser_processes(drivers: list) -> list[psutil.Process]:
    found = []
    for driver in drivers:
        service = psutil.Process(driver.service.process.pid)
        found += [service, *service.children(recursive=True)]
    return found


def _quit(driver) -> None:
    """Quit a browser; again (at the end, after an error) does nothing."""
    if driver.session_id is not None:
        driver.quit()
        driver.session_id = None


def _chart_points(driver) -> int:
    return driver.execute_script("return model.daemons[0].watchers.sleepers.history.length")


def _lag_s(driver) -> float:
    return driver.execute_script(
        "const h = model.daemons[0].watchers.sleepers.history; return Date.now() / 1000 - h[h.length - 1][0]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--browsers", type=int, default=5)
    parser.add_argument("--window-s", type=float, default=30.0)
    parser.add_argument("--smoke", action="store_true", help="200 processes, 2 browsers, 10 s windows")
    args = parser.parse_args()
    if args.smoke:
        args.processes, args.browsers, args.window_s = 200, 2, 10.0
    chromium, why = install_chromium()
    if chromium is None:
        raise SystemExit(f"console_bench needs Chromium: {why}")
    results: dict[str, object] = {"machine": machine(), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        ini = f"""
            [circus]
            statsd = true
            stats_interval = 1

            [watcher:sleepers]
            cmd = /bin/sleep 3600
            numprocesses = {args.processes}
        """
        daemon = Daemon(workdir, ini).start()
        stack.callback(daemon.close)
        daemon.wait_running(60)
        started = time.monotonic()
        wait_until(
            lambda: len(daemon.call("list", name="sleepers").get("pids", [])) == args.processes,
            300,
            f"{args.processes} processes",
            poll_s=0.5,
        )
        results["spawn_s"] = round(time.monotonic() - started, 1)
        console = Console(
            workdir,
            ["--endpoint", daemon.endpoint, "--no-token", "--secret-file", str(workdir / "secret")],
            env={"CIRCUSHTTPD_PASSWORD_HASH": hash_password(PASSWORD)},
        )
        stack.callback(console.stop)
        server = psutil.Process(console.proc.pid)
        drivers = []
        paints = []
        for _ in range(args.browsers):
            driver = open_browser(chromium)
            stack.callback(_quit, driver)
            drivers.append(driver)
            log_in(driver, console.url, PASSWORD)
            wait_until(lambda d=driver: text(d, CARD), 30, "the overview after login", poll_s=0.01)
            t0 = time.monotonic()
            driver.get(console.url + "#/")
            driver.refresh()
            wait_until(
                lambda d=driver: text(d, CARD + " .proc-count") == str(args.processes),
                30,
                "the first paint with every process",
                poll_s=0.01,
            )
            paints.append(time.monotonic() - t0)
        results["first_paint_s"] = [round(p, 3) for p in paints]

        browsers = _browser_processes(drivers)
        points_before = [_chart_points(d) for d in drivers]
        server_before, browsers_before = _cpu_s([server]), _cpu_s(browsers)
        time.sleep(args.window_s)
        server_cpu = (_cpu_s([server]) - server_before) / args.window_s * 100
        browsers_cpu = (_cpu_s(browsers) - browsers_before) / args.window_s * 100
        gained = [_chart_points(d) - b for d, b in zip(drivers, points_before, strict=True)]
        lags = [_lag_s(d) for d in drivers]
        results.update(
            server_cpu_pct=round(server_cpu, 2),
            browsers_cpu_pct=round(browsers_cpu, 1),
            chart_points_gained=gained,
            chart_lag_s=[round(lag, 2) for lag in lags],
            server_rss_mb=round(server.memory_info().rss / 2**20, 1),
        )
        for driver in drivers:
            _quit(driver)
        before = _cpu_s([server])  # the same window with every browser gone: the console's own cost
        time.sleep(args.window_s)
        results["server_cpu_idle_pct"] = round((_cpu_s([server]) - before) / args.window_s * 100, 2)
    print(f"console_bench: {args.processes} processes, stats every 1 s, {args.browsers} browsers")
    print(f"  spawned in                 {results['spawn_s']} s")
    print(f"  first paint (per browser)  {', '.join(f'{p:.2f} s' for p in paints)}")
    print(f"                             median {statistics.median(paints):.2f} s, max {max(paints):.2f} s")
    print(f"  circushttpd CPU, idle      {results['server_cpu_idle_pct']} % of a core")
    print(f"  circushttpd CPU, browsers  {results['server_cpu_pct']} % of a core (target < 5)")
    print(f"  browsers' CPU (all)        {results['browsers_cpu_pct']} % of a core")
    print(f"  chart points gained        {gained} over {args.window_s:g} s")
    print(f"  chart lag                  {results['chart_lag_s']} s")
    print(f"  circushttpd RSS            {results['server_rss_mb']} MB")
    print(f"raw: {shown(write_results('console_bench', results))}")


if __name__ == "__main__":
    main()
