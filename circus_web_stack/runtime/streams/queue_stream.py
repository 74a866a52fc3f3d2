"""QueueStream: output as Circus's message dicts on a bounded gevent queue, for code in the daemon.

The rule it keeps: the queue is bounded, so a reader that falls behind blocks the pumps feeding it (and
then the children) instead of letting the daemon's memory grow.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gevent.queue

from circus_web_stack.runtime.streams.base import Stream
from circus_web_stack.runtime.streams.options import as_positive_int

DEFAULT_MAXSIZE = 256


class QueueStream(Stream):
    """Puts `{'data': bytes, 'pid': int, 'name': 'stdout'|'stderr'}` per chunk of whole lines.

    Read with get()/get_nowait() from a greenlet of the daemon's hub (it is a gevent queue, not a
    thread-safe one). `maxsize` bounds the items held (Circus's queue was unbounded).
    """

    OPTIONS: ClassVar = {"maxsize": as_positive_int}
    runs_in_thread: ClassVar[bool] = False

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        super().__init__(time_format=None)
        self.queue: gevent.queue.Queue = gevent.queue.Queue(maxsize)

    def get(self, block: bool = True, timeout: float | None = None) -> dict[str, Any]:
        return self.queue.get(block, timeout)

    def get_nowait(self) -> dict[str, Any]:
        return self.queue.get_nowait()

    def qsize(self) -> int:
        return self.queue.qsize()

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        self.queue.put({"data": data, "pid": pid, "name": name})
