"""The servers benchmarks/rolling_restart.py reloads under load: our circusd, gunicorn (HUP) and Circus
0.19 (reload), each started with the same app and workers and driven through its own control path;
and the events (what each action did, when) the report lines latencies up against."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import psutil
import zmq

from benchmarks.common import (
    REPO,
    App,
    ControlClient,
    ErrorReply,
    free_port,
    stop_process,
    wait_until,
)

OURS_BIN = Path(sys.executable).parent
WORKERS = 2
START_TIMEOUT_S = 60.0
ACTION_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0
CONFLICT_RETRIES = 20  # Circus refuses a command while its periodic tick holds the global lock

# -- the plan (pure) ------------------------------------------------------------------------------


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
