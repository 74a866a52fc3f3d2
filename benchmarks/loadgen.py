"""HTTP load for the rolling-restart benchmark, in a process of its own so it never shares an
interpreter with the servers: gevent clients, half keep-alive and half one request per connection,
until SIGTERM or a hard time limit; every request timed, every failure classified.

Rule: a failure is `refused`, `reset`, `timeout`, `closed` (no byte of a response), `truncated` or
`status` (not 2xx). The one retry: a request on a reused keep-alive connection that the server
closed (EOF or reset) before sending any byte of a response is sent once more on a new connection,
as HTTP clients do. Its latency counts from the first attempt.

    python -m benchmarks.loadgen --port 8080 --clients 100 --max-duration 60 --out load.json
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import asdict, dataclass, field

import gevent
import gevent.event
from gevent import socket

RECV_BYTES = 65536
HEAD_LIMIT = 65536
WINDOW_S = 0.1  # width of the timeline's buckets
SLOWEST_KEPT = 20


# -- parsing (pure) -------------------------------------------------------------------------------


class Truncated(Exception):
    """The peer closed the connection in the middle of a response."""


class ResponseReader:
    """Feeds on bytes until one HTTP/1.x response is complete: Content-Length, chunked, or
    delimited by the connection closing. `status` and `keep_alive` are known once the head is in."""

    def __init__(self) -> None:
        self.buffer = b""
        self.status: int | None = None
        self.keep_alive = False
        self._length: int | None = None  # body bytes expected; None: until close
        self._chunked = False
        self._body_start = 0
        self.complete = False

    def feed(self, data: bytes) -> bool:
        """Adds `data` (b"" means the peer closed); True once the response is complete. Raises
        Truncated if the peer closed too early and ValueError on a malformed head."""
        self.buffer += data
        if self.status is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if not data:
                    raise Truncated("closed inside the response head")
                if len(self.buffer) > HEAD_LIMIT:
                    raise ValueError("response head too long")
                return False
            self._parse_head(self.buffer[:end].decode("latin-1"))
            self._body_start = end + 4
        body = self.buffer[self._body_start :]
        if self._chunked:
            self.complete = _chunked_complete(body)
        elif self._length is not None:
            self.complete = len(body) >= self._length
        else:
            self.complete = not data
        if not self.complete and not data:
            raise Truncated("closed inside the response body")
        return self.complete

    def _parse_head(self, head: str) -> None:
        status_line, *header_lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x status line: {status_line!r}")
        self.status = int(rest.split(" ", 1)[0])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        self.keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunked = True
        elif "content-length" in headers:
            self._length = int(headers["content-length"])
        elif self.status in (204, 304) or 100 <= self.status < 200:
            self._length = 0
        else:
            self.keep_alive = False  # the body ends when the connection does


def _chunked_complete(body: bytes) -> bool:
    """True when `body` holds a whole chunked body, up to the last chunk and its trailers."""
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            return False
        size = int(body[position:line_end].split(b";", 1)[0], 16)
        if size == 0:  # the last chunk, then optional trailers, then an empty line
            return body.find(b"\r\n\r\n", line_end) >= 0
        position = line_end + 2 + size + 2
        if position > len(body):
            return False


# -- results --------------------------------------------------------------------------------------


@dataclass
class Failure:
    at: float  # monotonic seconds when the request started
    kind: str
    keep_alive_client: bool
    reused_connection: bool
    detail: str


@dataclass
class Results:
    started: float = 0.0  # monotonic (CLOCK_MONOTONIC is system-wide, so the driver can compare)
    ended: float = 0.0
    ok: int = 0
    retried: int = 0
    # successful requests' latencies, by client: keep-alive or one request per connection
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {"keep-alive": [], "close": []})
    slowest: list[tuple[float, float]] = field(default_factory=list)  # (latency ms, started at)
    failures: list[Failure] = field(default_factory=list)
    # per WINDOW_S bucket since `started`: [requests, failures, worst latency ms]
    timeline: dict[int, list[float]] = field(default_factory=dict)

    def record(self, at: float, latency_s: float, keep_alive: bool, failure: Failure | None) -> None:
        latency_ms = latency_s * 1000
        bucket = self.timeline.setdefault(int((at - self.started) / WINDOW_S), [0, 0, 0.0])
        bucket[0] += 1
        bucket[2] = max(bucket[2], latency_ms)
        if failure is not None:
            bucket[1] += 1
            self.failures.append(failure)
            return
        self.ok += 1
        self.latencies_ms["keep-alive" if keep_alive else "close"].append(latency_ms)
        if len(self.slowest) < SLOWEST_KEPT or latency_ms > self.slowest[-1][0]:
            self.slowest.append((latency_ms, at))
            self.slowest.sort(reverse=True)
            del self.slowest[SLOWEST_KEPT:]


# -- the clients ----------------------------------------------------------------------------------


class RequestFailed(Exception):
    def __init__(self, kind: str, detail: str, *, before_response: bool = False) -> None:
        self.kind = kind
        self.before_response = before_response
        super().__init__(detail)


class Client:
    """One simulated user: sends GET requests back to back until told to stop."""

    def __init__(
        self, port: int, path: str, keep_alive: bool, timeout_s: float, think_s: float, results: Results
    ) -> None:
        self.address = ("127.0.0.1", port)
        self.think_s = think_s
        self.keep_alive = keep_alive
        self.timeout_s = timeout_s
        self.results = results
        connection = "keep-alive" if keep_alive else "close"
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: {connection}\r\n\r\n".encode()
        )
        self.sock: socket.socket | None = None
        self.reused = False  # the open connection has already carried a complete response

    def run(self, stop: gevent.event.Event) -> None:
        try:
            while not stop.is_set():
                self.one_request()
                if self.think_s:
                    stop.wait(self.think_s)
        finally:
            self.close()

    def one_request(self) -> None:
        started = time.monotonic()
        failure = None
        reused = self.reused and self.sock is not None
        try:
            with gevent.Timeout(
                self.timeout_s, RequestFailed("timeout", f"no response in {self.timeout_s:g}s")
            ):
                try:
                    self.exchange()
                except RequestFailed as exc:
                    if not (reused and exc.before_response):
                        raise
                    self.close()
                    self.results.retried += 1
                    self.exchange()
        except RequestFailed as exc:
            self.close()
            failure = Failure(started, exc.kind, self.keep_alive, reused, str(exc))
        self.results.record(started, time.monotonic() - started, self.keep_alive, failure)

    def exchange(self) -> None:
        if self.sock is None:
            self.sock = self.connect()
            self.reused = False
        reader = ResponseReader()
        try:
            self.sock.sendall(self.request)
            while not reader.feed(self.sock.recv(RECV_BYTES)):
                pass
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise RequestFailed("reset", repr(exc), before_response=not reader.buffer) from None
        except Truncated as exc:
            kind = "closed" if not reader.buffer else "truncated"
            raise RequestFailed(kind, str(exc), before_response=not reader.buffer) from None
        except (OSError, ValueError) as exc:
            raise RequestFailed("error", repr(exc)) from None
        assert reader.status is not None
        if not 200 <= reader.status < 300:
            raise RequestFailed("status", f"HTTP {reader.status}")
        if self.keep_alive and reader.keep_alive:
            self.reused = True
        else:
            self.close()

    def connect(self) -> socket.socket:
        # Not socket.create_connection: it resolves even a literal address through gevent's thread-pool
        # resolver, and with this process busy that round trip (GIL hand-offs) added 100-240 ms to some
        # connects, which showed up as the servers' worst latency.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.connect(self.address)
        except OSError as exc:
            sock.close()
            kind = {ConnectionRefusedError: "refused", ConnectionResetError: "reset"}.get(type(exc), "error")
            raise RequestFailed(kind, repr(exc)) from None
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.reused = False


def run(
    port: int, path: str, clients: int, max_duration_s: float, timeout_s: float, think_s: float = 0.0
) -> Results:
    """Load until SIGTERM or `max_duration_s`; then every client finishes its current request."""
    results = Results()
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    results.started = time.monotonic()
    greenlets = [
        gevent.spawn(Client(port, path, index % 2 == 0, timeout_s, think_s, results).run, stop)
        for index in range(clients)
    ]
    stop.wait(max_duration_s)
    stop.set()
    gevent.joinall(greenlets, timeout=timeout_s * 2 + 5)
    results.ended = time.monotonic()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--clients", type=int, default=100, help="half keep-alive, half one request each")
    parser.add_argument("--max-duration", type=float, default=60.0, help="hard limit in seconds")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds each client pauses between requests"
    )
    parser.add_argument("--out", required=True, help="JSON results file")
    args = parser.parse_args(argv)
    results = run(args.port, args.path, args.clients, args.max_duration, args.timeout, args.think)
    with open(args.out, "w") as f:
        json.dump(asdict(results), f)
    print(
        f"loadgen: {results.ok} ok, {len(results.failures)} failed, {results.retried} retried",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
