"""One child process of a watcher: its identity, its state, and the signals sent to it and its tree.

`repr(process)` reads `<Process web#3 pid=4121 running 12.3s>`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

import gevent.event
import psutil

from circus_web_stack.core.states import ProcessState
from circus_web_stack.core.watcher_model import ProcessRecord
from circus_web_stack.runtime.process_tree import descendant_processes
from circus_web_stack.runtime.spawner import Child


class Process:
    def __init__(
        self,
        watcher_name: str,
        wid: int,
        child: Child,
        *,
        generation: int = 0,
        record: Callable[[], ProcessRecord | None] | None = None,
    ) -> None:
        self.watcher_name = watcher_name
        self.wid = wid
        self.child = child
        self.generation = generation
        self.started = time.time()  # epoch, as Circus reports it
        self.started_s = time.monotonic()
        # The watcher's state machine keeps the process's state; this reads it.
        self._record = record or (lambda: None)
        self.exit_code: int | None = None
        # Set the moment waitpid() returns, before any hook runs: from then on the pid may belong to
        # another process, so nothing may signal it.
        self.reaped = False
        self.exited = gevent.event.Event()
        # The last bytes it wrote to stderr, to say why it failed (a rolled-back reload quotes them).
        self.stderr_tail = bytearray()

    def last_stderr_lines(self, count: int = 5) -> list[str]:
        lines = bytes(self.stderr_tail).decode("utf-8", "replace").splitlines()
        return [line for line in lines if line.strip()][-count:]

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def label(self) -> str:
        return f"{self.watcher_name}#{self.wid}"

    def age(self) -> float:
        return time.monotonic() - self.started_s

    def __repr__(self) -> str:
        return f"<Process {self.label} pid={self.pid} {self.state.value} {self.age():.1f}s>"

    @property
    def state(self) -> ProcessState:
        if self.reaped:
            return ProcessState.EXITED
        record = self._record()
        return record.state if record is not None else ProcessState.STARTING

    @property
    def stop_reason(self) -> str | None:
        record = self._record()
        return record.stop_reason if record is not None else None

    def mark_exited(self) -> None:
        self.exited.set()

    def is_alive(self) -> bool:
        return not self.reaped

    def wait_exited(self, timeout: float | None = None) -> bool:
        """Wait until the process has been reaped. The flag is checked first on purpose: gevent 26.9
        can lose the wakeup of a greenlet that calls wait() on an Event already set while its notifier
        is still queued (another waiter's timeout unlinks the notifier), and such a waiter would sleep
        forever. Waiting only while the flag is clear avoids that path."""
        if self.exited.is_set():
            return True
        return self.exited.wait(timeout)

    def descendants(self) -> list[psutil.Process]:
        return [] if self.reaped else descendant_processes(self.pid)

    def send_signal(self, signum: int, *, children: bool = False, recursive: bool = False) -> None:
        """Signal the process (unless reaped: its pid may belong to someone else by then) and, if asked,
        its direct children or its whole tree."""
        if self.reaped:
            return
        targets = descendant_processes(self.pid, recursive=recursive) if children or recursive else []
        # PermissionError: a child that switched users; the stop sequence must go on to SIGKILL anyway.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signum)
        for target in targets:
            with contextlib.suppress(psutil.Error):
                target.send_signal(signum)

    def kill_tree(self) -> None:
        """SIGKILL the process, every descendant, and its process group: the group catches descendants
        already re-parented away from it. Only while unreaped, so the pgid cannot have been reused."""
        if self.reaped:
            return
        tree = self.descendants()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)
        for target in tree:
            with contextlib.suppress(psutil.Error):
                target.kill()
