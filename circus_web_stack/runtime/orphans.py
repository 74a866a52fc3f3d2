"""PID 1's duty: reap the orphans re-parented to circusd, the moment they exit.

Active when circusd is PID 1 (a container's entry point, or `unshare --pid`) or when `subreaper = true`
makes it a child subreaper (PR_SET_CHILD_SUBREAPER: orphans of its workers come to it instead of to
init). Rule: the reaping itself is `spawner.reap_orphans`, which never touches a pid a watcher owns;
this module only wakes it. SIGCHLD wakes it through Python's signal wakeup fd (written by the C-level
handler at delivery, so the hub wakes at once; a Python-level handler alone would wait for gevent's
periodic signal check), with a sweep every SWEEP_S as a safety net.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
from typing import Any

import gevent

from circus_web_stack.core.exits import describe_exit
from circus_web_stack.runtime import spawner

log = logging.getLogger("circus_web_stack.orphans")

SWEEP_S = 1.0
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def needs_orphan_reaper(subreaper: bool) -> bool:
    return subreaper or os.getpid() == 1


def become_subreaper() -> None:
    """Orphans of our descendants are re-parented to us rather than to init (Linux >= 3.4)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


class OrphanReaper:
    """An arbiter extension: a greenlet that reaps orphans on every SIGCHLD."""

    def __init__(self, *, subreaper: bool = False) -> None:
        self.subreaper = subreaper
        self._greenlet: gevent.Greenlet | None = None
        self._pipe: tuple[int, int] | None = None
        self._previous_wakeup_fd = -1
        self.reaped = 0

    def start(self, arbiter: Any) -> None:
        if self.subreaper:
            become_subreaper()
        read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # The handler itself does nothing: the wakeup byte written by the C handler is the signal.
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.siginterrupt(signal.SIGCHLD, False)  # SA_RESTART: no EINTR in other threads' calls
        self._previous_wakeup_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        if self._previous_wakeup_fd != -1:
            # Someone else (an embedding program) owns the wakeup fd: leave it theirs and sweep only.
            signal.set_wakeup_fd(self._previous_wakeup_fd)
            log.warning("the signal wakeup fd is in use; orphans are reaped every %gs instead", SWEEP_S)
        self._pipe = (read_fd, write_fd)
        self._greenlet = gevent.spawn(self._run, read_fd)
        log.info(
            "reaping orphans as %s",
            "PID 1" if os.getpid() == 1 else "a child subreaper",
        )

    def _run(self, read_fd: int) -> None:
        hub = gevent.get_hub()
        while True:
            self.reap()
            io = hub.loop.io(read_fd, 1)
            try:
                with gevent.Timeout(SWEEP_S, False):
                    hub.wait(io)
            finally:
                io.close()
            with contextlib.suppress(BlockingIOError):
                while os.read(read_fd, 4096):
                    pass

    def reap(self) -> None:
        for pid, code in spawner.reap_orphans():
            self.reaped += 1
            log.debug("reaped orphan pid=%d: %s", pid, describe_exit(code))

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        if self._pipe is not None:
            if self._previous_wakeup_fd == -1:
                signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None
