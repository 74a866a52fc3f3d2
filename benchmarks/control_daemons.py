"""The daemons benchmarks/control_latency.py times: ours and Circus 0.19's circusd, each started on
the same ini (only the endpoints differ) with `sleep` watchers of the sizes asked, with two raw
control clients, and stopped after.

Rule: a daemon counts as started once every watcher has all its processes; on any failure its log
tail is shown, and the stop signals only the daemon's own processes, within STOP_TIMEOUT_S.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import zmq

from benchmarks.common import ControlClient, stop_process, wait_until

START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


# -- configs (pure) -------------------------------------------------------------------------------


def ini(endpoint: str, pubsub_endpoint: str, watchers: dict[str, int]) -> str:
    """The one config both daemons run: `sleep` watchers of the given sizes, no multicast, no stats.
    Their output goes to /dev/null, so neither daemon holds two pipes per process."""
    lines = [
        "[circus]",
        f"endpoint = {endpoint}",
        f"pubsub_endpoint = {pubsub_endpoint}",
        "multicast_endpoint =",
        "check_delay = 1",
        "",
    ]
    for name, count in watchers.items():
        lines += [
            f"[watcher:{name}]",
            "cmd = sleep 3600",
            f"numprocesses = {count}",
            "close_child_stdout = true",
            "close_child_stderr = true",
            "graceful_timeout = 5",
            "",
        ]
    return "\n".join(lines)


# -- daemons --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flavour:
    """One project's daemon and command-line client."""

    name: str
    circusd: Path
    circusctl: Path


@dataclass
class RunningDaemon:
    flavour: Flavour
    endpoint: str
    process: subprocess.Popen
    log: Path
    client: ControlClient
    probe: ControlClient  # a second client for the concurrency probe

    def wait_processes(self, watchers: dict[str, int]) -> None:
        for name, count in watchers.items():
            wait_until(
                lambda name=name, count=count: len(self.client.call("list", name=name)[0]["pids"]) == count,
                START_TIMEOUT_S,
                f"{self.flavour.name}: {count} processes in watcher {name}",
                poll_s=0.5,
            )


@contextmanager
def running_daemon(
    flavour: Flavour, context: zmq.Context, workdir: Path, watchers: dict[str, int]
) -> Iterator[RunningDaemon]:
    workdir.mkdir(parents=True)
    endpoint = f"ipc://{workdir / 'control.sock'}"
    config = workdir / "circus.ini"
    config.write_text(ini(endpoint, f"ipc://{workdir / 'pubsub.sock'}", watchers))
    log = workdir / "circusd.log"
    process = subprocess.Popen(
        [str(flavour.circusd), "--log-output", str(log), str(config)],
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "circusd.stderr").open("wb"),
        start_new_session=True,
    )
    daemon = RunningDaemon(
        flavour, endpoint, process, log, ControlClient(context, endpoint), ControlClient(context, endpoint)
    )
    try:
        daemon.wait_processes(watchers)
        yield daemon
    except BaseException:
        sys.stderr.write(f"--- {flavour.name} log tail:\n{_tail(log)}\n")
        raise
    finally:
        daemon.client.close()
        daemon.probe.close()
        leftovers = stop_process(process, STOP_TIMEOUT_S)
        if leftovers:
            print(f"  {flavour.name}: killed {len(leftovers)} leftover process(es) after stop", flush=True)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
