"""One HTTP/1.1 connection on a gevent socket: read request heads, run the WSGI app, write responses.

Rule: each response goes out in as few send() calls as possible (the head and a body already in hand
travel together); framing decisions come from `http.response`; timeouts are deadlines that the
server's reaper enforces, so the hot path never arms a timer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from time import monotonic, perf_counter, time
from typing import Any

from gevent.socket import wait_write

from ..http.access_log import common_log_line
from ..http.body import RequestBody
from ..http.environ import connection_environ, request_environ
from ..http.errors import ClientDisconnected, HTTPError
from ..http.limits import RECV_SIZE
from ..http.parser import Request, RequestParser
from ..http.proxies import apply_forwarded
from ..http.response import (
    CONTINUE,
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
from .file_wrapper import FileWrapper

log = logging.getLogger("chaussette")

# Connection states; the reaper and the graceful stop read them.
IDLE = "idle"  # between requests (keep-alive), nothing received yet
READING_HEAD = "reading head"  # a fresh connection, or part of a head received
BUSY = "busy"  # the app runs, or we write
READING_BODY = "reading body"  # the app waits for more of the request body
WRITING = "writing"  # a send is in progress

NO_DEADLINE = float("inf")
#: The most unread request body we read and discard to keep a connection alive; past it we close.
DRAIN_LIMIT = 64 * 1024
#: Bodies up to this size are joined with the head into one send.
COALESCE_LIMIT = 64 * 1024
_SEQUENCES = (list, tuple)


class ConnectionLost(Exception):
    """Our own send or receive failed: the client went away (or the reaper cut it off)."""


class Connection:
    """Serves requests on one accepted socket until either side closes it."""

    __slots__ = (
        "body_sent",
        "code",
        "continue_sent",
        "deadline",
        "environ",
        "framing",
        "head_sent",
        "keep_alive",
        "length",
        "parser",
        "request",
        "scan",
        "shared",
        "sock",
        "state",
        "status",
        "trusted",
    )

    def __init__(self, shared: ConnectionContext, sock: Any, peer: Any) -> None:
        self.shared = shared
        self.sock = sock
        self.parser = RequestParser(shared.limits)
        self.state = READING_HEAD
        self.deadline = monotonic() + shared.header_timeout_s
        try:
            local = sock.getsockname()
        except OSError:
            local = ""
        self.environ = connection_environ(shared.base_environ, local, peer)
        self.trusted = shared.proxies.trusts(str(self.environ["REMOTE_ADDR"]))
        self.request: Request | None = None
        self.status: str | None = None
        self.code = 0
        self.scan: HeaderScan | None = None
        self.head_sent = False
        self.continue_sent = False
        self.keep_alive = False
        self.framing = Framing.NONE
        self.length: int | None = None
        self.body_sent = 0

    def __repr__(self) -> str:
        return f"<Connection {self.environ['REMOTE_ADDR']}:{self.environ['REMOTE_PORT']} {self.state}>"

    # life cycle ----------------------------------------------------------------------------------

    def serve(self) -> None:
        try:
            while self._serve_next():
                pass
        except ConnectionLost as exc:
            log.debug("connection from %s lost: %s", self.environ["REMOTE_ADDR"], exc.__cause__ or exc)
        finally:
            self.state = BUSY  # never again closable as idle
            with contextlib.suppress(OSError):
                self.sock.close()

    def abort(self) -> None:
        """Cut the connection off: wakes a greenlet blocked on it, which then closes it."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def is_idle(self) -> bool:
        """Waiting between requests with nothing received, not even in the kernel's buffer.

        Only a kept-alive connection that has served a request can be idle: a fresh one was opened
        to send a request whose bytes may still be on their way, and closing it would fail that
        request (its client has nothing to retry); it is served, with `Connection: close`."""
        if self.state != IDLE or self.parser.in_head or self.parser.requests:
            return False
        sock = self.sock
        sock.settimeout(0.0)  # a peek that must not wait; no other greenlet runs until we restore it
        try:
            pending = sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return True
        except OSError:
            return True  # broken: closing it loses nothing
        finally:
            sock.settimeout(None)
        return not pending  # b"": the client already closed its side

    # reading -------------------------------------------------------------------------------------

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(RECV_SIZE)
        except OSError as exc:
            raise ConnectionLost("receive failed") from exc

    def _read_head(self) -> bool:
        """Read until a request head is complete; False when the connection should close."""
        parser = self.parser
        while not parser.requests:
            if parser.error is not None:
                self._refuse(parser.error)
                return False
            if parser.upgraded:
                return False
            data = self._recv()
            if not data:
                return False
            try:
                parser.feed(data)
            except HTTPError as err:
                self._refuse(err)
                return False
            if not parser.requests and self.state == IDLE:
                self.state = READING_HEAD
                self.deadline = monotonic() + self.shared.header_timeout_s
        return True

    def receive_body(self) -> None:
        """wsgi.input asks for more body: say 100 Continue if owed, then read once and parse."""
        request = self.request
        if request is not None and request.expects_continue and not self.continue_sent:
            self.continue_sent = True
            self._send(CONTINUE)
        self.state = READING_BODY
        self.deadline = monotonic() + self.shared.io_timeout_s
        try:
            data = self.sock.recv(RECV_SIZE)
        except OSError as exc:
            raise ClientDisconnected(f"reading the request body failed: {exc}") from exc
        finally:
            self.state = BUSY
            self.deadline = NO_DEADLINE
        if not data:
            raise ClientDisconnected("the client closed the connection before the end of the request body")
        self.parser.feed(data)

    # serving -------------------------------------------------------------------------------------

    def _serve_next(self) -> bool:
        """Serve one request; False when the connection should close."""
        parser = self.parser
        if not parser.requests and not self._read_head():
            return False
        request = parser.requests[0]
        self.state = BUSY
        self.deadline = NO_DEADLINE
        keep_alive = self._respond(request)
        parser.requests.popleft()
        if not keep_alive or not self._drain(request):
            return False
        self.state = IDLE
        self.deadline = monotonic() + self.shared.keepalive_timeout_s
        self.shared.turns.take_turn()  # the next request may be in already: let the others go first
        return True

    def _respond(self, request: Request) -> bool:
        """Run the app for `request` and send its response; True if the connection may stay open."""
        shared = self.shared
        meter = shared.requests
        started = perf_counter() if meter is not None else 0.0
        self.request = request
        self.status = None
        self.code = 0
        self.scan = None
        self.head_sent = False
        self.continue_sent = False
        self.body_sent = 0
        wsgi_input = RequestBody(request, self.receive_body)
        environ = request_environ(self.environ, request, wsgi_input)
        apply_forwarded(environ, self.trusted)
        result: Any = None
        try:
            result = shared.app(environ, self.start_response)
            if type(result) in _SEQUENCES and self.status is not None:
                body = result[0] if len(result) == 1 else b"".join(result)
                if type(body) is not bytes:
                    raise TypeError(f"the app's body must be bytes, not {type(body).__name__}")
                self._send_whole(body)
            elif type(result) is FileWrapper and self.status is not None and self._send_file(result):
                pass
            else:
                for data in result:
                    if data:
                        self._write(data)
                self._finish()
        except ConnectionLost as exc:
            log.debug("client %s went away during the response: %s", environ["REMOTE_ADDR"], exc.__cause__)
            return False
        except ClientDisconnected as exc:
            log.debug("client %s went away: %s", environ["REMOTE_ADDR"], exc)
            return False
        except HTTPError as err:  # raised by wsgi.input while the app read the body
            if not self.head_sent:
                self._send_error(err.status, err.reason)
            return False
        except Exception:
            log.exception(
                "error handling %s %s from %s", request.method, environ["RAW_URI"], environ["REMOTE_ADDR"]
            )
            if not self.head_sent:
                self._send_error("500 Internal Server Error")
            return False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("error closing the response of %s %s", request.method, environ["RAW_URI"])
            if shared.access_log is not None:
                self._log_access(environ)
            if meter is not None and self.code:  # 0: the client left before any response
                meter.observe(self.code, perf_counter() - started)
        return self.keep_alive

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

    # writing -------------------------------------------------------------------------------------

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

    def _may_keep_alive(self, framing: Framing) -> bool:
        request = self.request
        assert request is not None and self.scan is not None
        if not request.keep_alive or self.scan.close or framing is Framing.CLOSE or self.shared.stopping:
            return False
        if request.upgrade:
            return False
        if not request.complete:
            # the client still owes (or waits to send) body bytes we will have to read or refuse
            if request.expects_continue and not self.continue_sent:
                return False
            if request.content_length is None or request.content_length - request.body_size > DRAIN_LIMIT:
                return False
        return True

    def _head(self, known_length: int | None) -> bytes:
        request = self.request
        scan = self.scan
        assert request is not None and scan is not None and self.status is not None
        http11 = request.version == "1.1"
        framing, length = choose_framing(self.code, request.method, http11, scan.content_length, known_length)
        self.framing = framing
        self.length = length if framing is Framing.LENGTH else None
        self.keep_alive = self._may_keep_alive(framing)
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

    # refusals, errors, drain, access log ---------------------------------------------------------

    def _refuse(self, err: HTTPError) -> None:
        log.debug("refused request from %s: %s (%s)", self.environ["REMOTE_ADDR"], err.status, err.reason)
        self._send_error(err.status, err.reason)
        if self.shared.requests is not None:  # refused before the app: no latency worth the name
            self.shared.requests.observe(self.code, 0.0)
        if self.shared.access_log is not None:
            status = err.status.partition(" ")[0]
            line = common_log_line(
                str(self.environ["REMOTE_ADDR"]),
                "-",
                "-",
                "-",
                int(status),
                0,
                self.shared.timestamps.text(time()),
                note=err.reason,
            )
            self.shared.access_log.write(line)

    def _send_error(self, status: str, detail: str = "") -> None:
        self.code = int(status[:3])
        self.keep_alive = False
        self.head_sent = True
        with contextlib.suppress(ConnectionLost):
            self._send(error_response(status, self.shared.date.line(time()), detail))

    def _drain(self, request: Request) -> bool:
        """Read and drop what the app left of the request body; False if the connection must close."""
        if request.complete:
            return True
        try:
            while not request.complete:
                request.body.clear()
                self.receive_body()
        except (ClientDisconnected, HTTPError):
            return False
        request.body.clear()
        return True

    def _log_access(self, environ: dict[str, Any]) -> None:
        request = self.request
        assert request is not None
        line = common_log_line(
            str(environ["REMOTE_ADDR"]),
            request.method,
            str(environ["RAW_URI"]),
            str(environ["SERVER_PROTOCOL"]),
            self.code,
            self.body_sent,
            self.shared.timestamps.text(time()),
        )
        try:
            self.shared.access_log.write(line)  # type: ignore[union-attr]
        except (OSError, ValueError):
            print(line, end="", file=sys.stderr)
