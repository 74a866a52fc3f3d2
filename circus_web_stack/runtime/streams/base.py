"""The Stream base: whole lines per source on the hub, sink I/O one write at a time off the hub.

The rule it keeps: a write returns only once its bytes reached the sink, so a slow sink slows the pump
that feeds it (and through the full pipe, the child) instead of growing the daemon's memory; and no sink
I/O (disk, terminal, user callable) ever runs on the hub, so a stuck sink cannot freeze the daemon.

Why a thread pool: local file writes are usually microseconds, but NFS, a full disk being cleaned up, a
terminal on a slow link or a user callable doing network I/O can stall for seconds. Doing those on the hub
would stall every command and every other watcher (Circus's fate, PROTOCOL 5.3). A thread hop per chunk
costs tens of microseconds, i.e. nothing next to the 64 KiB it carries. pyzmq already runs its own threads
in the daemon, so threads add no new fork hazard. Each stream has at most one job in flight (its lock), so
sinks never see concurrent calls (Circus callables were never written for that) and memory in flight is
bounded by the number of streams.
"""

from __future__ import annotations

import logging
import os
import select
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import gevent
import gevent.lock
from gevent.hub import get_hub
from gevent.threadpool import ThreadPool

from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.lines import LineAssembler, Piece, circus_line_prefix, decorate_lines

logger = logging.getLogger("circus_web_stack.runtime.streams")

# Threads shared by all streams. One stuck sink holds one thread; more than this many stuck at once
# delays the others' writes (their pumps wait, their children block on full pipes) but nothing is lost.
STREAM_IO_THREADS = 16
# close() and reopen() wait this long for a write in flight before giving up on waiting.
LOCK_WAIT_S = 5.0

_pool: ThreadPool | None = None


def _io_pool() -> ThreadPool:
    global _pool
    if _pool is None or _pool.hub is not get_hub():
        _pool = ThreadPool(STREAM_IO_THREADS)
    return _pool


def write_all(fd: int, data: bytes) -> None:
    """Writes all of `data` to `fd` from an I/O thread, waiting out EAGAIN if the fd is non-blocking."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        except InterruptedError:
            continue
        view = view[written:]


def checked_time_format(time_format: str | None) -> str | None:
    """`time_format` if strftime accepts it (None if empty); ConfigError otherwise."""
    if not time_format:
        return None
    try:
        datetime.now().strftime(time_format)
    except ValueError as exc:
        raise ConfigError(f"{time_format!r} is not a strftime format: {exc}", option="time_format") from None
    return time_format


class Stream:
    """Where one or more processes' stdout/stderr go.

    write(data, pid, name): bytes read from the pipe of process `pid`, `name` being 'stdout' or 'stderr'.
    Call from a greenlet; it returns once the whole lines in `data` reached the sink (the unfinished
    last line is held until its newline). finish(pid, name): that pipe reached EOF; writes its unfinished
    line. reopen(): reopen files (SIGHUP/USR1 after logrotate). close(): finish every source, release the
    sink; later writes are dropped with one warning.
    """

    # Options accepted by open_stream for this class: name -> converter from the ini string.
    OPTIONS: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    # False for sinks that are gevent objects themselves (QueueStream) and must stay on the hub.
    runs_in_thread: ClassVar[bool] = True

    def __init__(self, time_format: str | None = None) -> None:
        self.time_format = checked_time_format(time_format)
        self._sources: dict[tuple[int, str], LineAssembler] = {}
        self._lock = gevent.lock.Semaphore(1)
        self._closed = False  # no new output accepted
        self._sink_released = False  # _close_sink ran: output still queued for the lock is dropped
        self._failing = False
        self._warned_closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__}{self._describe()}>"

    def _describe(self) -> str:
        return ""

    # -- the public surface -------------------------------------------------------------------------

    def write(self, data: bytes, pid: int, name: str) -> None:
        if self._closed:
            self._warn_closed(pid, name)
            return
        source = self._sources.get((pid, name))
        if source is None:
            source = self._sources[(pid, name)] = LineAssembler()
        piece = source.feed(data)
        if piece is not None:
            self._deliver(piece, pid, name)

    def finish(self, pid: int, name: str) -> None:
        source = self._sources.pop((pid, name), None)
        if source is None or self._closed:
            return
        piece = source.finish()
        if piece is not None:
            self._deliver(piece, pid, name)

    def reopen(self) -> None:
        if self._closed:
            return
        if not self._lock.acquire(timeout=LOCK_WAIT_S):
            logger.warning("%r: not reopened: a write has been stuck for %.0fs", self, LOCK_WAIT_S)
            return
        if self._sink_released:
            self._lock.release()
            return
        self._run_locked(self._reopen_sink)

    def close(self) -> None:
        if self._closed:
            return
        for pid, name in list(self._sources):
            self.finish(pid, name)
        self._closed = True
        if self._lock.acquire(timeout=LOCK_WAIT_S):
            self._release_sink()
            return
        logger.warning("%r: a write has been stuck for %.0fs; closing once it returns", self, LOCK_WAIT_S)

        def release_when_free() -> None:
            self._lock.acquire()
            self._release_sink()

        gevent.spawn(release_when_free)

    # -- what subclasses provide ---------------------------------------------------------------------

    def _format(self, piece: Piece, pid: int) -> bytes:
        """On the hub: the bytes to hand to the sink (Circus's `time [pid] | ` prefix per line)."""
        if self.time_format is None:
            return piece.data
        return decorate_lines(piece, circus_line_prefix(datetime.now().strftime(self.time_format), pid))

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        """In an I/O thread (or on the hub if not runs_in_thread), one at a time: deliver `data`."""
        raise NotImplementedError

    def _reopen_sink(self) -> None:
        """Like _emit's context: reopen whatever the sink holds open."""

    def _close_sink(self) -> None:
        """Like _emit's context: release the sink."""

    # -- machinery -----------------------------------------------------------------------------------

    def _deliver(self, piece: Piece, pid: int, name: str) -> None:
        data = self._format(piece, pid)
        self._lock.acquire()
        if self._sink_released:
            self._lock.release()
            self._warn_closed(pid, name)
            return
        self._run_locked(self._emit, data, pid, name)

    def _release_sink(self) -> None:
        """With the lock held: close the sink for good."""
        self._sink_released = True
        self._run_locked(self._close_sink)

    def _run_locked(self, job: Callable[..., None], *args: Any) -> None:
        """Runs `job` with the lock already held, releases it once the job is over, logs sink failures.

        If the calling greenlet is killed while the job still runs in its thread, the lock stays held
        until the thread is done, so the next job cannot overlap it.
        """
        release_on_completion = False
        try:
            if not self.runs_in_thread:
                job(*args)
            else:
                result = _io_pool().spawn(job, *args)
                try:
                    result.get()
                except BaseException:
                    if not result.ready():
                        result.rawlink(lambda _result: self._lock.release())
                        release_on_completion = True
                    raise
        except Exception as exc:
            self._note_failure(exc)
        else:
            if self._failing:
                self._failing = False
                logger.warning("%r: writing works again", self)
        finally:
            if not release_on_completion:
                self._lock.release()

    def _note_failure(self, exc: Exception) -> None:
        # One message per outage, not one per chunk: a full disk must not flood the daemon's log.
        if not self._failing:
            self._failing = True
            logger.error(
                "%r: output dropped until writing works again: %s: %s", self, type(exc).__name__, exc
            )

    def _warn_closed(self, pid: int, name: str) -> None:
        if not self._warned_closed:
            self._warned_closed = True
            logger.warning("%r is closed; dropping %s of pid %d and any later output", self, name, pid)
