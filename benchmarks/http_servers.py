"""The servers benchmarks/http_bench.py loads: ours under circusd (chaussette workers on the socket
circusd binds) and gunicorn's workers on an inherited socket, each started for one app and stopped
after; and the peers' virtualenv gunicorn runs from.

Rule: every server runs --workers workers on one listening socket on 127.0.0.1, answers HTTP before
it counts as started, and its stop signals only the processes it started, within STOP_TIMEOUT_S.
"""

from __future__ import annotations

import importlib.metadata
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks.common import REPO, App, app_env, wait_http

DEFAULT_PEERS_VENV = REPO / "benchmarks" / ".venv-peers"
PEER_PACKAGES = ["gunicorn[gevent]"]
REFERENCE = "gunicorn-gevent"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


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


# -- the peers' venv ------------------------------------------------------------------------------


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
