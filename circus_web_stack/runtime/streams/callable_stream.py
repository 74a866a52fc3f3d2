"""CallableStream: output handed to a user's dotted callable, Circus style, from an I/O thread.

The rule it keeps: the callable runs in a worker thread, never on the hub, one call at a time per stream
(as Circus called it, so it needs no locking of its own); its next call waits for the previous one, which
is what slows the child down when the callable is slow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from circus_web_stack.runtime.streams.base import Stream


class CallableStream(Stream):
    """Calls `target({'data': bytes, 'pid': int, 'name': 'stdout'|'stderr'})` per chunk of whole lines.

    reopen() and close() call the target's own reopen()/close() if it has them.
    """

    def __init__(self, target: Callable[[dict[str, Any]], Any], label: str | None = None) -> None:
        super().__init__(time_format=None)
        self.target = target
        self.label = label or getattr(target, "__qualname__", type(target).__qualname__)

    def _describe(self) -> str:
        return f" {self.label}"

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        self.target({"data": data, "pid": pid, "name": name})

    def _reopen_sink(self) -> None:
        reopen = getattr(self.target, "reopen", None)
        if callable(reopen):
            reopen()

    def _close_sink(self) -> None:
        close = getattr(self.target, "close", None)
        if callable(close):
            close()
