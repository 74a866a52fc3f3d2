"""One HTTP/1.1 connection on a gevent socket: the request loop. Reads request heads, runs the WSGI
app on each, drains what it left of the body, and serves the next request while keep-alive holds;
the responses are written by its base, `response_writer.ResponseWriter`.

Rule: a request is answered before the next is read, in order (pipelining included); a refused
head is answered and closes the connection; timeouts are deadlines that the server's reaper
enforces (`connection_states`), so the hot path never arms a timer.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from time import monotonic, perf_counter, time
from typing import Any

from ..http.access_log import common_log_line
from ..http.body import RequestBody
from ..http.environ import connection_environ, request_environ
from ..http.errors import ClientDisconnected, HTTPError
from ..http.limits import RECV_SIZE
from ..http.parser import Request, RequestParser
from ..http.proxies import apply_forwarded
from ..http.response import CONTINUE
from .connection_context import ConnectionContext
from .connection_states import BUSY, IDLE, NO_DEADLINE, READING_BODY, READING_HEAD, ConnectionLost
from .file_wrapper import FileWrapper
from .response_writer import ResponseWriter

log = logging.getLogger("chaussette")

_SEQUENCES = (list, tuple)


class Connection(ResponseWriter):
    """Serves requests on one accepted socket until either side closes it."""

    __slots__ = ("deadline", "environ", "parser", "request", "shared", "sock", "state", "trusted")

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
        super().__init__()

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
        self._begin_response(request)
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

    # refusals, drain, access log -----------------------------------------------------------------

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
