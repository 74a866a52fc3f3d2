"""Every operating-system call a watcher makes, behind one small interface (as supervisor passes one
`options` object around): spawn, wait for an exit, signal, kill a tree, priorities, the clock, timers.

RealSystem is the one the daemon uses. circus_web_stack.testing.fake_system has a fake one with an
autojump clock, so that the watcher's whole lifecycle runs in-process, in milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from typing import Protocol

import gevent
import psutil

from circus_web_stack.runtime import priority, spawner
from circus_web_stack.runtime.process_tree import descendant_processes


class Timer(Protocol):
    def cancel(self) -> None: ...


class SpawnedChild(Protocol):
    """What a watcher keeps of a child until it is reaped."""

    pid: int
    stdout_fd: int | None
    stderr_fd: int | None


class System(Protocol):
    def monotonic(self) -> float: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer: ...

    def spawn(self, spec: spawner.SpawnSpec) -> SpawnedChild:
        """Start a child; raises OSError (FileNotFoundError, ...) when it cannot be started."""
        ...

    def wait_exit(self, child: SpawnedChild) -> int:
        """Block the calling greenlet until the child exits, reap it: its exit status or -signum."""
        ...

    def signal(self, pid: int, signum: int, *, children: bool = False, recursive: bool = False) -> None:
        """Signal the process and, if asked, its direct children or its whole tree."""
        ...

    def kill_tree(self, pid: int) -> None:
        """SIGKILL the process, every descendant and its process group."""
        ...

    def group_outlives(self, pgid: int) -> bool:
        """Whether the process group of a process just reaped still has members."""
        ...

    def wall_time(self) -> float: ...

    def can_restore_priority(self) -> bool: ...

    def lower_priority(self, pid: int, increment: int) -> int | None: ...

    def restore_priority(self, pid: int, value: int) -> None: ...


class _GreenletTimer:
    def __init__(self, greenlet: gevent.Greenlet) -> None:
        self._greenlet = greenlet

    def cancel(self) -> None:
        if self._greenlet is not gevent.getcurrent():
            self._greenlet.kill(block=False)


class RealSystem:
    """The daemon's: a pidfd per child (spawner.py), signals through os.kill, trees from /proc."""

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        return _GreenletTimer(gevent.spawn_later(delay_s, callback))

    def spawn(self, spec: spawner.SpawnSpec) -> spawner.Child:
        return spawner.spawn(spec)

    def wait_exit(self, child: SpawnedChild) -> int:
        assert isinstance(child, spawner.Child)
        return spawner.wait_exit(child)

    def signal(self, pid: int, signum: int, *, children: bool = False, recursive: bool = False) -> None:
        targets = descendant_processes(pid, recursive=recursive) if children or recursive else []
        # PermissionError: a child that switched users; the stop sequence must go on to SIGKILL anyway.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)
        for target in targets:
            with contextlib.suppress(psutil.Error):
                target.send_signal(signum)

    def kill_tree(self, pid: int) -> None:
        # The group catches descendants already re-parented away from the process. Callers do this
        # only while the process is unreaped, so the pid and pgid cannot have been reused.
        tree = descendant_processes(pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        for target in tree:
            with contextlib.suppress(psutil.Error):
                target.kill()

    def group_outlives(self, pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # a member that changed its user: still there
            return True
        return True

    def wall_time(self) -> float:
        return time.time()

    def can_restore_priority(self) -> bool:
        return priority.can_restore()

    def lower_priority(self, pid: int, increment: int) -> int | None:
        return priority.lower(pid, increment)

    def restore_priority(self, pid: int, value: int) -> None:
        priority.restore(pid, value)


REAL_SYSTEM = RealSystem()
