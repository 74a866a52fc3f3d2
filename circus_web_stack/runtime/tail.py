"""A tap between a pipe's pump and its stream that keeps a process's last stderr bytes."""

from __future__ import annotations

from typing import Any

TAIL_BYTES = 4096


class TailTap:
    """Passes everything on to `stream`, keeping the last TAIL_BYTES in `tail` (a Process's)."""

    def __init__(self, stream: Any, tail: bytearray) -> None:
        self._stream = stream
        self._tail = tail

    def write(self, data: bytes, pid: int, name: str) -> None:
        self._tail += data
        if len(self._tail) > TAIL_BYTES:
            del self._tail[: len(self._tail) - TAIL_BYTES]
        self._stream.write(data, pid, name)

    def finish(self, pid: int, name: str) -> None:
        self._stream.finish(pid, name)
