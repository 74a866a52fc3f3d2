"""Fixtures: a short private directory for ipc sockets, a canned-reply responder, a real daemon with
two watchers and two sockets, and a runner for circusctl as a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from circus_web_stack.core.errors import ClientError
from tests.component.circusctl.responder import Responder

WATCHERS = {"web": "active", "api.v2": "stopped"}
PIDS = {"web": [4121, 4122]}


def _status(props: dict) -> dict:
    if "name" in props:
        return {"status": _watcher(props["name"])}
    return {"statuses": dict(WATCHERS)}


def _watcher(name: str) -> str:
    if name not in WATCHERS:
        raise ClientError(f"program {name} not found")
    return WATCHERS[name]


def _list(props: dict) -> dict:
    if "name" in props:
        _watcher(props["name"])
        return {"pids": PIDS.get(props["name"], [])}
    return {"watchers": sorted(WATCHERS)}


def _get(props: dict) -> dict:
    _watcher(props["name"])
    return {"options": {key: 2 for key in props["keys"]}}


def canned_handlers(pubsub_endpoint: str = "") -> dict[str, Callable[[dict], object]]:
    def ok(props: dict) -> None:
        if "name" in props and not any(ch in props["name"] for ch in "*?"):
            _watcher(props["name"])

    handlers: dict[str, Callable[[dict], object]] = {name: ok for name in (
        "add", "rm", "start", "stop", "restart", "reload", "reloadconfig", "set", "signal", "kill", "quit",
    )}  # fmt: skip
    handlers.update(
        status=_status,
        list=_list,
        get=_get,
        incr=lambda props: {"numprocesses": 3},
        stats=lambda props: {"name": props.get("name"), "info": {}},
        globaloptions=lambda props: {"options": {"pubsub_endpoint": pubsub_endpoint, "check_delay": 1.0}},
    )
    return handlers


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # ipc:// paths must fit in 107 bytes; pytest's tmp_path can be longer.
    path = Path(tempfile.mkdtemp(prefix="ctl-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def responder(short_dir: Path) -> Iterator[Responder]:
    server = Responder(f"ipc://{short_dir}/control.sock", canned_handlers(f"ipc://{short_dir}/pubsub.sock"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def circus_daemon(circusd, short_dir: Path):
    """A real circusd: `web` (2 processes, an env, both sockets) and `api.v2` (1), a TCP and a unix
    socket; names of two lengths, so that aligned output would show."""
    daemon = circusd(f"""
        [socket:web]
        host = 127.0.0.1
        port = 0
        [socket:local]
        path = {short_dir}/local.sock
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
        graceful_timeout = 5
        use_sockets = true
        [env:web]
        B = 2
        A = one
        [watcher:api.v2]
        cmd = sleep 1001
    """)
    daemon.wait_children(3)
    daemon.wait_log("control endpoint on ")
    return daemon


@pytest.fixture
def ctl_env(short_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUSCTL_", "CIRCUS_RUNTIME"))}
    env["HOME"] = str(short_dir)
    env["CIRCUS_RUNTIME_DIR"] = str(short_dir / "no-daemon-here")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture
def run_ctl(ctl_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess]:
    def run(
        *argv: str, endpoint: str | None = None, stdin: str = "", timeout: float = 10
    ) -> subprocess.CompletedProcess:
        args = [sys.executable, "-m", "circus_web_stack.cli.circusctl"]
        if endpoint is not None:
            args += ["--endpoint", endpoint]
        return subprocess.run(
            [*args, *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=ctl_env,
            timeout=timeout,
            check=False,
        )

    return run
