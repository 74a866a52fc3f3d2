"""What every side-by-side benchmark shares: summary statistics, the `case  ours  peer  ratio` table,
raw figures as JSON in benchmarks/results/, the process hygiene around the servers under test, and a
raw DEALER client of Circus's control protocol that times our circusd and Circus's alike.

Rule: statistics and formatting are pure functions of numbers; the helpers that touch processes only
ever signal the pids they are handed, and every wait among them has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psutil
import zmq

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"

T = TypeVar("T")
CALL_TIMEOUT_S = 120.0  # Circus's `stats` at 1,000 processes takes about 19 s on this machine

# -- statistics -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between the closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    n: int
    min: float
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(len(values), min(values), percentile(values, 50), percentile(values, 99), max(values))


def ratios(ours: Sequence[float], peer: Sequence[float]) -> list[float]:
    """Per-round ours/peer, pairing round i of one with round i of the other; a zero peer figure
    has no ratio and is left out."""
    return [o / p for o, p in zip(ours, peer, strict=True) if p]


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the table: ours and the peer as single figures, and the per-round ratios."""

    case: str
    ours: float
    peer: float
    unit: str
    round_ratios: tuple[float, ...] = ()


def format_value(value: float, unit: str) -> str:
    if unit == "ms":
        if value >= 10_000:
            return f"{value / 1000:.1f} s"
        return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"
    if unit in ("", "req/s"):
        return f"{value:.0f} {unit}".rstrip()
    return f"{value:.2f} {unit}"


def format_table(rows: Iterable[Row], peer: str, title: str = "") -> str:
    """`case  ours  peer  ratio (min / median / max)`; the ratio is ours/peer per round, so below 1
    means ours is lower (faster, fewer)."""
    rows = list(rows)
    width = max([len("case"), *(len(r.case) for r in rows)])
    lines = [title] if title else []
    lines.append(f"{'case':<{width}}  {'ours':>12}  {peer:>14}  ratio ours/peer (min / median / max)")
    for row in rows:
        if row.round_ratios:
            spread = row.round_ratios
            ratio = f"{min(spread):.3g} / {statistics.median(spread):.3g} / {max(spread):.3g}"
        else:
            ratio = "-"
        lines.append(
            f"{row.case:<{width}}  {format_value(row.ours, row.unit):>12}  "
            f"{format_value(row.peer, row.unit):>14}  {ratio}"
        )
    return "\n".join(lines)


# -- the apps under load ---------------------------------------------------------------------------


@dataclass(frozen=True)
class App:
    """A WSGI app as every server is told to load it: `spec` is module:callable, importable from the
    repository root plus `python_path`."""

    name: str
    spec: str  # module:callable
    path: str = "/"  # URL path the load requests
    python_path: tuple[str, ...] = ()
    #: distributions the app imports, installed in the peers' venv too, at the project venv's versions
    peer_packages: tuple[str, ...] = ()
    #: environment for the setup command and every server; '{tmp}' is the run's scratch directory
    env: tuple[tuple[str, str], ...] = ()
    #: run once with the project's interpreter before the servers start (Django's migrate)
    setup: tuple[str, ...] = ()
    #: wrk connections for this app (None: --connections). A CPU-bound view serves a few hundred
    #: requests a second per worker, so 500 connections would only measure wrk's 2 s timeouts.
    connections: int | None = None


def available_apps() -> dict[str, App]:
    """hello and io10ms from benchmarks/apps.py, and the Django example once examples/django has one."""
    apps = {
        "hello": App("hello", "benchmarks.apps:hello"),
        "io10ms": App("io10ms", "benchmarks.apps:io10ms"),
    }
    django = REPO / "examples" / "django"
    wsgi_files = sorted(django.glob("*/wsgi.py")) if (django / "manage.py").exists() else []
    if wsgi_files:
        module = wsgi_files[0].parent.name
        apps["django"] = App(
            "django",
            f"{module}.wsgi:application",
            "/",  # the notes page: two queries and a template, on a fresh SQLite database
            (str(django),),
            peer_packages=("django",),
            env=(("DJANGO_DB_PATH", "{tmp}/django-bench.sqlite3"),),
            setup=(str(django / "manage.py"), "migrate", "--noinput"),
            connections=50,
        )
    return apps


def app_env(app: App, tmp: Path) -> dict[str, str]:
    """Our environment plus what `app` needs: the repository and its python_path on PYTHONPATH, and
    its env with '{tmp}' expanded."""
    paths = [str(REPO), *app.python_path]
    extra = {key: value.replace("{tmp}", str(tmp)) for key, value in app.env}
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), **extra)


# -- results --------------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def write_results(name: str, payload: dict[str, object], directory: Path = RESULTS) -> Path:
    """benchmarks/results/<name>-<timestamp>.json (gitignored); returns the path written."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


# -- waiting and processes ------------------------------------------------------------------------


def wait_until(condition: Callable[[], T | None], timeout_s: float, what: str, poll_s: float = 0.05) -> T:
    """Polls `condition` until it returns something truthy, which it returns; raises TimeoutError
    naming `what` once `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:g}s for {what}")
        time.sleep(poll_s)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, for daemons that bind by port number."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(port: int, path: str = "/", timeout_s: float = 30.0) -> None:
    """Until GET http://127.0.0.1:port/path answers 200."""

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_until(answers, timeout_s, f"HTTP 200 on 127.0.0.1:{port}{path}", poll_s=0.1)


def descendants(pid: int) -> list[psutil.Process]:
    """Every live descendant of `pid` (empty if it is gone). psutil.Process remembers its start time,
    so signalling one later never hits a reused pid."""
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).children(recursive=True)
    return []


def stop_process(process: subprocess.Popen, timeout_s: float = 30.0) -> list[int]:
    """SIGTERM `process`, SIGKILL it after `timeout_s`, then SIGKILL, by pid, any of its descendants
    (as seen just before the stop) still alive. Returns those leftovers so the caller can report them."""
    before = descendants(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    leftovers = []
    for child in before:
        with contextlib.suppress(psutil.Error):
            if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                child.kill()
                leftovers.append(child.pid)
    return leftovers


# -- the control client ---------------------------------------------------------------------------


class ErrorReply(Exception):
    def __init__(self, endpoint: str, reply: dict) -> None:
        self.reply = reply
        super().__init__(f"{endpoint}: error reply {reply}")


class ControlClient:
    """A DEALER socket speaking Circus's control protocol: one JSON frame out, one JSON frame back,
    matched by id (PROTOCOL.md 1.1). The same code times both daemons."""

    def __init__(self, context: zmq.Context, endpoint: str) -> None:
        self.endpoint = endpoint
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)

    def close(self) -> None:
        self.socket.close()

    def send(self, command: str, **properties: object) -> str:
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({"id": msg_id, "command": command, "properties": properties}).encode())
        return msg_id

    def receive(self, msg_id: str, timeout_s: float = CALL_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            if self.socket.poll(remaining * 1000):
                reply = json.loads(self.socket.recv())
                if reply.get("id") == msg_id:
                    if reply.get("status") == "error":
                        raise ErrorReply(self.endpoint, reply)
                    return reply
        raise TimeoutError(f"{self.endpoint}: no reply to {msg_id} within {timeout_s:g}s")

    def ready(self) -> bool:
        """True once a reply is waiting (non-blocking)."""
        return bool(self.socket.poll(0))

    def call(
        self, command: str, timeout_s: float = CALL_TIMEOUT_S, **properties: object
    ) -> tuple[dict, float]:
        """(reply, round-trip seconds); raises ErrorReply on an error reply."""
        started = time.perf_counter()
        reply = self.receive(self.send(command, **properties), timeout_s)
        return reply, time.perf_counter() - started
