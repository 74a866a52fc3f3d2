"""One child process: Circus's `Process`, usable on its own (`Process('top', 1, 'top', shell=True)`,
then `age()`, `info()`, `status`, `stop()`), and the handle a watcher keeps of each process it spawned
(`Process.for_child`), whose state the watcher's state machine keeps.

`repr(process)` reads `<Process web#3 pid=4121 running 12.3s>`. Every signal goes through the
System (runtime/system.py), and never to a reaped pid: by then it may belong to someone else.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

import gevent.event
import psutil

from circus_web_stack.core.states import ProcessState
from circus_web_stack.core.watcher_model import ProcessRecord
from circus_web_stack.runtime.spawner import SpawnSpec
from circus_web_stack.runtime.system import REAL_SYSTEM, SpawnedChild, System

# Circus's `Process.status` values.
RUNNING = 1
DEAD_OR_ZOMBIE = 2
UNEXISTING = 3
OTHER = 4

# Process.stop() on its own: SIGTERM, then SIGKILL after this long (as Circus's).
STOP_WAIT_S = 1.0


class Process:
    def __init__(
        self,
        name: str,
        wid: int,
        cmd: str,
        args: str | list[str] | None = None,
        working_dir: str | None = None,
        shell: bool = False,
        uid: int | None = None,
        gid: int | None = None,
        env: Mapping[str, str] | None = None,
        rlimits: Mapping[str, int | None] | None = None,
        executable: str | None = None,
        use_fds: bool = False,
        watcher: Any = None,
        spawn: bool = True,
        pipe_stdout: bool = True,
        pipe_stderr: bool = True,
        close_child_stdin: bool = True,
        close_child_stdout: bool = False,
        close_child_stderr: bool = False,
    ) -> None:
        """Circus's signature. `use_fds` keeps circusd's inheritable fds open in the child; `watcher` is
        accepted for compatibility (a watcher builds its processes with `for_child`)."""
        argv = [*shlex.split(cmd), *(shlex.split(args) if isinstance(args, str) else args or [])]
        self.cmd = cmd
        self.args = args
        self.working_dir = working_dir or os.getcwd()
        self.watcher = watcher
        self.stdout: IO[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        self._spec = SpawnSpec(
            argv=[" ".join(argv)] if shell else argv,
            env=dict(env or {}),
            cwd=self.working_dir,
            executable=executable,
            shell=shell,
            pass_fds=_inheritable_fds() if use_fds else (),
            close_stdin=close_child_stdin,
            capture_stdout=pipe_stdout and not close_child_stdout,
            capture_stderr=pipe_stderr and not close_child_stderr,
            close_stdout=close_child_stdout,
            close_stderr=close_child_stderr,
            uid=uid,
            gid=gid,
            rlimits=dict(rlimits or {}),
        )
        self._setup(name, wid, REAL_SYSTEM)
        if spawn:
            self.spawn()

    @classmethod
    def for_child(
        cls,
        watcher_name: str,
        wid: int,
        child: SpawnedChild,
        system: System,
        *,
        generation: int = 0,
        record: Callable[[], ProcessRecord | None] | None = None,
    ) -> Process:
        """The handle of a process a watcher spawned; `record` reads its state from the watcher's model."""
        proc = cls.__new__(cls)
        proc._setup(watcher_name, wid, system)
        proc.child = child
        proc.generation = generation
        proc._record = record or (lambda: None)
        proc._supervised = True
        return proc

    def _setup(self, name: str, wid: int, system: System) -> None:
        self.name = name
        self.watcher_name = name
        self.wid = wid
        self.system = system
        self.child: SpawnedChild | None = None
        self.generation = 0
        self._record: Callable[[], ProcessRecord | None] = lambda: None
        self._supervised = False  # a watcher's: its executor reaps it and keeps its state
        self.started = time.time()  # epoch, as Circus reports it
        self.started_s = system.monotonic()
        self.exit_code: int | None = None
        # Set the moment waitpid() returns, before any hook runs: from then on the pid may belong to
        # another process, so nothing may signal it.
        self.reaped = False
        self.exited = gevent.event.Event()
        # The last bytes it wrote to stderr, to say why it failed (a rolled-back reload quotes them).
        self.stderr_tail = bytearray()

    # ----------------------------------------------------------------- Circus's API

    def spawn(self) -> None:
        """Start the process (on its own: a watcher spawns through its executor)."""
        child = self.system.spawn(self._spec)
        self.child = child
        self.started, self.started_s = time.time(), self.system.monotonic()
        if child.stdout_fd is not None:
            self.stdout = os.fdopen(child.stdout_fd, "rb")
        if child.stderr_fd is not None:
            self.stderr = os.fdopen(child.stderr_fd, "rb")

    @property
    def pid(self) -> int:
        assert self.child is not None, "not spawned"
        return self.child.pid

    @property
    def returncode(self) -> int | None:
        return self.exit_code if self.reaped else self.poll()

    def poll(self) -> int | None:
        """The exit code once it has exited (reaping it, on its own), else None."""
        if self.reaped or self._supervised:
            return self.exit_code
        popen = getattr(self.child, "popen", None)
        code = popen.poll() if popen is not None else None
        if code is not None:
            self.reaped, self.exit_code = True, code
            self.mark_exited()
        return code

    def is_alive(self) -> bool:
        return self.poll() is None and not self.reaped

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait until it has exited (at most `timeout` seconds); its exit code, or None."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_alive():
            if deadline is not None and time.monotonic() >= deadline:
                return None
            gevent.sleep(0.01)
        return self.exit_code

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_WAIT_S; its pipes closed (Circus's)."""
        if self.is_alive():
            self.send_signal(signal.SIGTERM)
            if self.wait(STOP_WAIT_S) is None:
                self.kill_tree()
                self.wait(STOP_WAIT_S)
        for pipe in (self.stdout, self.stderr):
            if pipe is not None:
                pipe.close()

    def age(self) -> float:
        return self.system.monotonic() - self.started_s

    def info(self) -> dict[str, Any] | str:
        """psutil's view, as Circus's info(): mem_info1/2, cpu, mem, ctime, pid, username, nice,
        cmdline, age, started, children, wid."""
        try:
            info = _psutil_info(psutil.Process(self.pid))
            kids = [_psutil_info(c) for c in psutil.Process(self.pid).children()]
        except psutil.Error:
            return "No such process (stopped?)"
        return {**info, "age": self.age(), "started": self.started, "children": kids, "wid": self.wid}

    def children(self, recursive: bool = False) -> list[int]:
        try:
            return [c.pid for c in psutil.Process(self.pid).children(recursive=recursive)]
        except psutil.Error:
            return []

    def is_child(self, pid: int) -> bool:
        return pid in self.children()

    def send_signal_child(self, pid: int, signum: int) -> None:
        if not self.is_child(pid):
            raise psutil.NoSuchProcess(pid)
        psutil.Process(pid).send_signal(signum)

    def send_signal_children(self, signum: int, recursive: bool = False) -> None:
        for pid in self.children(recursive):
            try:
                psutil.Process(pid).send_signal(signum)
            except psutil.Error:
                continue

    @property
    def status(self) -> int:
        """RUNNING, DEAD_OR_ZOMBIE, UNEXISTING or OTHER, as Circus's."""
        if self.reaped:
            return UNEXISTING
        try:
            state = psutil.Process(self.pid).status()
        except psutil.Error:
            return UNEXISTING
        return DEAD_OR_ZOMBIE if state in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) else RUNNING

    def send_signal(self, signum: int, *, children: bool = False, recursive: bool = False) -> None:
        """Signal the process (unless reaped) and, if asked, its direct children or its whole tree."""
        if not self.reaped:
            self.system.signal(self.pid, signum, children=children, recursive=recursive)

    def kill_tree(self) -> None:
        """SIGKILL the process, every descendant, and its process group (only while unreaped, so the
        pgid cannot have been reused)."""
        if not self.reaped:
            self.system.kill_tree(self.pid)

    # ----------------------------------------------------------------- a watcher's handle

    @property
    def label(self) -> str:
        return f"{self.watcher_name}#{self.wid}"

    @property
    def state(self) -> ProcessState:
        if self.reaped:
            return ProcessState.EXITED
        record = self._record()
        if record is not None:
            return record.state
        return ProcessState.STARTING if self._supervised else ProcessState.RUNNING

    @property
    def ready(self) -> bool:
        """It reported ready (READY=1, or alive past warmup), whatever it does since."""
        record = self._record()
        return record is not None and record.ready_at_s is not None

    @property
    def stop_reason(self) -> str | None:
        record = self._record()
        return record.stop_reason if record is not None else None

    def last_stderr_lines(self, count: int = 5) -> list[str]:
        lines = bytes(self.stderr_tail).decode("utf-8", "replace").splitlines()
        return [line for line in lines if line.strip()][-count:]

    def mark_exited(self) -> None:
        self.exited.set()

    def wait_exited(self, timeout: float | None = None) -> bool:
        """Wait until the process has been reaped. The flag is checked first on purpose: gevent 26.9
        can lose the wakeup of a greenlet that calls wait() on an Event already set while its notifier
        is still queued (another waiter's timeout unlinks the notifier), and such a waiter would sleep
        forever. Waiting only while the flag is clear avoids that path."""
        if self.exited.is_set():
            return True
        return self.exited.wait(timeout)

    def __repr__(self) -> str:
        pid = self.child.pid if self.child is not None else "-"
        return f"<Process {self.label} pid={pid} {self.state.value} {self.age():.1f}s>"


def _psutil_info(proc: psutil.Process) -> dict[str, Any]:
    with proc.oneshot():
        mem = proc.memory_info()
        times = proc.cpu_times()
        return {
            "pid": proc.pid,
            "mem_info1": mem.rss,
            "mem_info2": mem.vms,
            "cpu": proc.cpu_percent(interval=None),
            "mem": round(proc.memory_percent(), 1),
            "ctime": times.user + times.system,
            "username": proc.username(),
            "nice": proc.nice(),
            "cmdline": " ".join(proc.cmdline()),
        }


def _inheritable_fds() -> tuple[int, ...]:
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.get_inheritable(fd):
                found.append(fd)
        except OSError:
            continue
    return tuple(found)
