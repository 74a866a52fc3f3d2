"""A real circusd in its own session, for component and end-to-end tests.

It writes the ini into a temp dir, starts `python -m circus_web_stack.cli.circusd`, reads its log, and
on close stops it and then kills, by pid, anything it spawned that is still alive (and says so), so a
test never leaves a process behind. A `launcher` runs circusd under another program: in PID_NAMESPACE
circusd is PID 1 of a new PID namespace, so the kernel ends every process of it when circusd ends,
and the pids in the log are the namespace's own: none of them is signalled from here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from circus_web_stack.testing.waiting import wait_until

SPAWNED = re.compile(r"spawned (?P<label>\S+) pid=(?P<pid>\d+)")


@dataclass(frozen=True)
class Launcher:
    """A program circusd runs under: its argv prefix; whether it forks circusd (else it execs it);
    whether circusd gets a PID namespace of its own."""

    argv: tuple[str, ...]
    forks: bool = False
    pid_namespace: bool = False


# util-linux: circusd becomes PID 1 of a new PID namespace with its own /proc; --kill-child ends it
# (and so the whole namespace) if unshare itself is killed.
PID_NAMESPACE = Launcher(
    ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child"), forks=True, pid_namespace=True
)


def pid_namespace_refusal() -> str | None:
    """Why PID_NAMESPACE cannot run here (unshare missing, namespaces refused), or None when it can."""
    if shutil.which(PID_NAMESPACE.argv[0]) is None:
        return "unshare (util-linux) is not installed"
    done = subprocess.run([*PID_NAMESPACE.argv, "true"], capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else f"unshare refused a PID namespace: {done.stderr.strip()[-300:]}"


class Daemon:
    def __init__(
        self,
        workdir: Path,
        ini: str,
        *,
        extra_args: tuple[str, ...] = (),
        launcher: Launcher | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.ini_path = self.workdir / "circus.ini"
        self.ini_path.write_text(textwrap.dedent(ini))
        self.log_path = self.workdir / "circusd.log"
        self.extra_args = extra_args
        self.launcher = launcher
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self._exit_code: int | None = None
        self._started_at = 0.0

    # ----------------------------------------------------------------- life cycle

    def start(self) -> Daemon:
        self._started_at = time.time()
        env = dict(os.environ, PYTHONUNBUFFERED="1", CIRCUS_RUNTIME_DIR=str(self.workdir / "run"))
        env.update(self.env)
        self.proc = subprocess.Popen(
            [
                *(self.launcher.argv if self.launcher else ()),
                sys.executable,
                "-m",
                "circus_web_stack.cli.circusd",
                str(self.ini_path),
                "--log-output",
                str(self.log_path),
                "--log-level",
                "debug",
                *self.extra_args,
            ],
            cwd=self.workdir,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "circusd.stderr", "wb"),  # noqa: SIM115
        )
        return self

    @property
    def pid(self) -> int:
        """circusd's pid as this test sees it (under a launcher: the launcher's one child)."""
        assert self.proc is not None
        if self.launcher is None or not self.launcher.forks:
            return self.proc.pid
        kids = wait_until(lambda: psutil.Process(self.proc.pid).children(), 10, "the launcher's child")
        return kids[0].pid

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        if self.launcher is not None and self.launcher.forks:
            os.kill(self.pid, signum)
        else:
            self.proc.send_signal(signum)

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self._exit_code = self.proc.wait(timeout)
        return self._exit_code

    def close(self) -> list[int]:
        """Stop the daemon (SIGTERM, then SIGKILL) and kill any spawned pid still alive; returns those
        leftovers so a test can assert there were none."""
        if self.proc is None:
            return []
        if self.proc.poll() is None:
            with contextlib.suppress(psutil.Error, ProcessLookupError, AssertionError):
                self.signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        leftovers: list[int] = []
        if self.launcher is not None and self.launcher.pid_namespace:
            return leftovers  # the namespace ended with its PID 1
        for pid in self.spawned_pids():
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(pid)
                if p.status() != psutil.STATUS_ZOMBIE and p.create_time() >= self._started_at - 1:
                    leftovers.append(pid)
                    p.kill()
        return leftovers

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- observation

    def log(self) -> str:
        try:
            return self.log_path.read_text()
        except FileNotFoundError:
            return ""

    def stderr(self) -> str:
        return (self.workdir / "circusd.stderr").read_text()

    def wait_log(self, pattern: str, timeout: float = 10.0) -> re.Match:
        regex = re.compile(pattern)
        return wait_until(
            lambda: regex.search(self.log()), timeout, f"log line /{pattern}/\n{self.log()[-3000:]}"
        )

    def spawned_pids(self) -> list[int]:
        return [int(m["pid"]) for m in SPAWNED.finditer(self.log())]

    def children(self, name: str | None = None) -> list[psutil.Process]:
        """Live direct children (not zombies), optionally only those whose cmdline contains `name`."""
        try:
            kids = psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []
        alive = []
        for kid in kids:
            with contextlib.suppress(psutil.Error):
                if kid.status() == psutil.STATUS_ZOMBIE:
                    continue
                if name is None or name in " ".join(kid.cmdline()):
                    alive.append(kid)
        return alive

    def wait_children(
        self, count: int, name: str | None = None, timeout: float = 10.0
    ) -> list[psutil.Process]:
        return wait_until(
            lambda: (lambda k: k if len(k) == count else None)(self.children(name)),
            timeout,
            f"{count} children{' named ' + name if name else ''}; log:\n{self.log()[-3000:]}",
        )

    def wait_running(self, timeout: float = 10.0) -> None:
        self.wait_log(r"circusd running", timeout)

    # ----------------------------------------------------------------- control plane

    @property
    def runtime_dir(self) -> Path:
        return self.workdir / "run"

    @property
    def endpoint(self) -> str:
        return f"ipc://{self.runtime_dir / 'control.sock'}"

    @property
    def pubsub_endpoint(self) -> str:
        return f"ipc://{self.runtime_dir / 'pubsub.sock'}"

    def client(self, timeout: float = 10.0):
        """A CircusClient on this daemon's control socket, once the daemon answers."""
        from circus_web_stack.client.daemon import CircusClient

        self.wait_log(r"control endpoint on ", 10)
        return CircusClient(self.endpoint, timeout=timeout)

    def call(self, command: str, **properties):
        with self.client() as client:
            return client.call(command, **properties)

    def call_in_background(self, command: str, **properties) -> PendingCall:
        """Send a command from a thread of its own, so the test goes on while the daemon works on it."""
        return PendingCall(self, command, properties)


class PendingCall:
    """A control command under way in a thread; `reply()` waits for its answer."""

    def __init__(self, daemon: Daemon, command: str, properties: dict) -> None:
        self._replies: list[dict] = []
        self._thread = threading.Thread(
            target=lambda: self._replies.append(daemon.call(command, **properties)), daemon=True
        )
        self._thread.start()

    def answered(self) -> bool:
        return not self._thread.is_alive()

    def reply(self, timeout: float = 30.0) -> dict:
        self._thread.join(timeout)
        if not self._replies:
            raise AssertionError(f"no reply within {timeout}s")
        return self._replies[0]


def elapsed(since: float) -> float:
    return time.monotonic() - since
