"""Writing one HTTP/1.1 response on a gevent socket: start_response, the head, and the body whole,
streamed or sendfile()d; the base of `gevent_connection.Connection`, which reads the requests.

Rule: each response goes out in as few send() calls as possible (the head and a body already in hand
travel together); framing decisions come from `http.response`, keep-alive from `keep_alive`; a body
that disagrees with its Content-Length is cut to it and closes the connection; every send sets the
state and deadline the server's reaper reads, so the hot path never arms a timer.
"""

from __future__ import annotations

import contextlib
import logging
import os
from time import monotonic, time
from typing import Any

from gevent.socket import wait_write

from ..http.parser import Request
from ..http.response import (
    LAST_CHUNK,
    Framing,
    HeaderScan,
    choose_framing,
    encode_chunk,
    encode_head,
    error_response,
    status_code,
)
from .connection_context import ConnectionContext
from .connection_states import BUSY, NO_DEADLINE, WRITING, ConnectionLost
from .file_wrapper import FileWrapper
from .keep_alive import may_keep_alive

log = logging.getLogger("chaussette")

#: Bodies up to this size are joined with the head into one send.
COALESCE_LIMIT = 64 * 1024


class ResponseWriter:
    """The response half of a connection: what the app said (status, headers) and what was sent."""

    __slots__ = (
        "body_sent",
        "code",
        "continue_sent",
        "framing",
        "head_sent",
        "keep_alive",
        "length",
        "scan",
        "status",
    )

    status: str | None
    code: int
    scan: HeaderScan | None
    head_sent: bool
    continue_sent: bool
    keep_alive: bool
    framing: Framing
    length: int | None
    body_sent: int
    # Set by the connection (the subclass): the socket, the server's context, the request being
    # answered, and the state and deadline the reaper reads.
    sock: Any
    shared: ConnectionContext
    request: Request | None
    state: str
    deadline: float

    def __init__(self) -> None:
        self._begin_response(None)
        self.keep_alive = False
        self.framing = Framing.NONE
        self.length = None

    def _begin_response(self, request: Request | None) -> None:
        """Forget the previous response: `request` is the one to answer now."""
        self.request = request
        self.status = None
        self.code = 0
        self.scan = None
        self.head_sent = False
        self.continue_sent = False
        self.body_sent = 0

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called twice without exc_info")
        self.code = status_code(status)
        self.scan = HeaderScan(headers)
        self.status = status
        return self._write

    def _send(self, data: bytes) -> None:
        self.state = WRITING
        self.deadline = monotonic() + self.shared.io_timeout_s
        try:
            # One send() takes a whole small response; gevent's sendall() would first ask the kernel
            # for SO_SNDBUF on every call (py-spy: 4% of a hello-world worker).
            sent = self.sock.send(data)
            if sent < len(data):
                self.sock.sendall(memoryview(data)[sent:])
        except OSError as exc:
            raise ConnectionLost("send failed") from exc
        self.state = BUSY
        self.deadline = NO_DEADLINE

    def _head(self, known_length: int | None) -> bytes:
        request = self.request
        scan = self.scan
        assert request is not None and scan is not None and self.status is not None
        http11 = request.version == "1.1"
        framing, length = choose_framing(self.code, request.method, http11, scan.content_length, known_length)
        self.framing = framing
        self.length = length if framing is Framing.LENGTH else None
        self.keep_alive = may_keep_alive(
            request, scan, framing, continue_sent=self.continue_sent, stopping=self.shared.stopping
        )
        date_line = "" if scan.has_date else self.shared.date.line(time())
        self.head_sent = True
        announced = length if scan.content_length is None else None  # else the app's header says it
        return encode_head(self.status, scan.headers, framing, announced, self.keep_alive, http11, date_line)

    def _send_whole(self, body: bytes) -> None:
        """The fast path: the app returned its whole body; send it with the head when small."""
        head = self._head(len(body))
        framing = self.framing
        if framing is Framing.NONE:
            self._send(head)
            return
        if self.length is not None and self.length != len(body):
            body = self._fit_length(body)
        self.body_sent = len(body)
        if len(body) <= COALESCE_LIMIT:
            self._send(head + body)
        else:
            self._send(head)
            self._send(body)

    def _fit_length(self, body: bytes) -> bytes:
        """The app's Content-Length disagrees with its body: send what it announced, then close."""
        assert self.length is not None and self.request is not None
        log.error(
            "%s %s: the app announced Content-Length %d but gave %d bytes; closing the connection",
            self.request.method,
            self.request.target.decode("latin-1"),
            self.length,
            self.body_sent + len(body),
        )
        self.keep_alive = False
        remaining = self.length - self.body_sent
        return body[: max(0, remaining)]

    def _write(self, data: bytes) -> None:
        """Send one piece of a streamed body (also the legacy write() callable)."""
        if not isinstance(data, bytes):
            raise TypeError(f"the app's body must be bytes, not {type(data).__name__}")
        if not self.head_sent:
            if self.status is None:
                raise AssertionError("the app wrote body bytes before calling start_response()")
            head = self._head(None)
        else:
            head = b""
        framing = self.framing
        if framing is Framing.CHUNKED:
            payload = encode_chunk(data)
        elif framing is Framing.NONE:
            data = payload = b""  # HEAD, 204, 304: the app's bytes are not sent
        else:
            if self.length is not None and self.body_sent + len(data) > self.length:
                data = self._fit_length(data)
            payload = data
        self.body_sent += len(data)
        if head or payload:
            self._send(head + payload if head else payload)

    def _finish(self) -> None:
        if not self.head_sent:
            if self.status is None:
                raise AssertionError("the app returned without calling start_response()")
            self._send_whole(b"")
            return
        if self.framing is Framing.CHUNKED:
            self._send(LAST_CHUNK)
        elif self.length is not None and self.body_sent < self.length:
            assert self.request is not None
            log.error(
                "%s %s: the app announced Content-Length %d but gave %d bytes; closing the connection",
                self.request.method,
                self.request.target.decode("latin-1"),
                self.length,
                self.body_sent,
            )
            self.keep_alive = False

    def _send_file(self, wrapper: FileWrapper) -> bool:
        """sendfile() the wrapped file when it is a regular file; False to fall back to iterating."""
        span = wrapper.sendfile_span()
        if span is None:
            return False
        fd, offset, count = span
        assert self.scan is not None
        if self.scan.content_length is not None:
            count = min(count, self.scan.content_length)
        self._send(self._head(count))
        if self.framing is Framing.NONE:
            return True
        sock_fd = self.sock.fileno()
        self.state = WRITING
        while count > 0:
            self.deadline = monotonic() + self.shared.io_timeout_s
            try:
                sent = os.sendfile(sock_fd, fd, offset, count)
            except BlockingIOError:
                wait_write(sock_fd)
                continue
            except OSError as exc:
                raise ConnectionLost("sendfile failed") from exc
            if sent == 0:  # the file shrank under us
                self.keep_alive = False
                break
            offset += sent
            count -= sent
            self.body_sent += sent
        self.state = BUSY
        self.deadline = NO_DEADLINE
        return True

    def _send_error(self, status: str, detail: str = "") -> None:
        self.code = int(status[:3])
        self.keep_alive = False
        self.head_sent = True
        with contextlib.suppress(ConnectionLost):
            self._send(error_response(status, self.shared.date.line(time()), detail))
