"""wsgi.input: the request body as a file-like object over the bytes the parser has de-chunked.

Rule: reading never blocks here; when the buffer is short it calls `receive()`, which the connection
implements (send 100 Continue if owed, read the socket once, feed the parser). `receive()` raises
`ClientDisconnected` at a premature end and `HTTPError` for a body the server refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .parser import Request


class RequestBody:
    """The PEP 3333 input stream: read(), readline(), readlines(), iteration; b'' at the end."""

    __slots__ = ("_consumed", "_receive", "_request")

    def __init__(self, request: Request, receive: Callable[[], None]) -> None:
        self._request = request
        self._receive = receive
        self._consumed = 0

    def _buffered(self) -> int:
        return self._request.body_size - self._consumed

    def _take(self, size: int) -> bytes:
        chunks = self._request.body
        parts: list[bytes] = []
        taken = 0
        while chunks and taken < size:
            chunk = chunks.popleft()
            wanted = size - taken
            if len(chunk) > wanted:
                chunks.appendleft(chunk[wanted:])
                chunk = chunk[:wanted]
            parts.append(chunk)
            taken += len(chunk)
        self._consumed += taken
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read(self, size: int | None = -1) -> bytes:
        request = self._request
        if size is None or size < 0:
            while not request.complete:
                self._receive()
            return self._take(self._buffered())
        while self._buffered() < size and not request.complete:
            self._receive()
        return self._take(min(size, self._buffered()))

    def readline(self, size: int | None = -1) -> bytes:
        request = self._request
        limit = -1 if size is None else size
        while True:
            chunks = request.body
            if len(chunks) > 1:
                joined = b"".join(chunks)
                chunks.clear()
                chunks.append(joined)
            head = chunks[0] if chunks else b""
            end = head.find(b"\n")
            if end >= 0 and (limit < 0 or end < limit):
                return self._take(end + 1)
            if 0 <= limit <= len(head):
                return self._take(limit)
            if request.complete:
                return self._take(len(head))
            self._receive()

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line
