"""HTTP clients for the end-to-end tests: a browser-like client with cookies and CSRF-protected forms,
and a bounded load run that counts every failed request.

Rule: stdlib only (http.client), one connection per client, every call with a timeout; a load run
stops by itself at its deadline, and anything but the expected status is a failure, with details.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import select
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

REQUEST_TIMEOUT_S = 10.0
FORM_TOKEN = re.compile(r'name="(?P<name>csrfmiddlewaretoken|csrf_token)" value="(?P<value>[^"]+)"')


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Browser:
    """Keeps cookies and (optionally) one keep-alive connection, sends Origin on POST as browsers do."""

    def __init__(
        self,
        host: str,
        port: int = 0,
        *,
        unix_path: str = "",
        keepalive: bool = True,
        retry_stale: bool = False,
    ) -> None:
        self.host, self.port, self.unix_path, self.keepalive = host, port, unix_path, keepalive
        # As browsers do (RFC 9112 section 9.3.1): a request sent on a reused keep-alive connection that
        # the server closed before answering is sent again, once, on a new connection.
        self.retry_stale = retry_stale
        self.retried = 0
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None
        self.reused = False
        self.stale = 0

    @staticmethod
    def _closed_by_server(conn: http.client.HTTPConnection) -> bool:
        sock = conn.sock
        if sock is None:
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)  # an idle HTTP/1.1 connection is readable only at EOF (or a reset)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}" if self.port else f"http://{self.host}"

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None and self._closed_by_server(self._conn):
            # What urllib3 and browsers do before reusing a keep-alive connection: a server that closed
            # it while it was idle (a worker stopping, its keep-alive timeout) gets a new connection.
            self.stale += 1
            self.close()
        if self._conn is None:
            self._conn = (
                UnixHTTPConnection(self.unix_path, REQUEST_TIMEOUT_S)
                if self.unix_path
                else http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
            )
            self.reused = False
        else:
            self.reused = True
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict | None = None
    ) -> Response:
        try:
            return self._request_once(method, path, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not (self.retry_stale and self.reused):
                raise
            self.retried += 1
            return self._request_once(method, path, body, headers)

    def _request_once(self, method: str, path: str, body: str | None, headers: dict | None) -> Response:
        headers = dict(headers or {})
        headers["Host"] = f"{self.host}:{self.port}" if self.port else self.host
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if not self.keepalive:
            headers["Connection"] = "close"
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", "replace")
        except BaseException:
            self.close()
            raise
        for value in raw.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        if raw.will_close or not self.keepalive:
            self.close()
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, text)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str], *, origin: str | None = None) -> Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin or self.origin}
        return self.request("POST", path, urlencode(fields), headers)

    def form_token(self, path: str = "/") -> tuple[str, str]:
        """GET the page with the form; returns the CSRF field's (name, value)."""
        page = self.get(path)
        assert page.status == 200, (page.status, page.body[:500])
        match = FORM_TOKEN.search(page.body)
        assert match, f"no CSRF field in the form of {path}"
        return match["name"], match["value"]


@dataclass
class LoadReport:
    ok: int = 0
    failures: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    max_latency_s: float = 0.0
    pids: set[int] = field(default_factory=set)
    # Idle keep-alive connections the server had closed, noticed before reuse (not failures).
    stale_reconnects: int = 0
    # Requests sent again after a reused connection closed before any answer (Browser.retry_stale).
    retried: int = 0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def summary(self) -> str:
        return (
            f"{self.ok} ok, {self.failed} failed {dict(self.failures)}, "
            f"max latency {self.max_latency_s:.3f}s, {self.stale_reconnects} stale keep-alive reconnects, "
            f"{self.retried} retried; "
            f"first failures: {self.examples[:10]}"
        )


class LoadRun:
    """`clients` threads, the first `keepalive` of them on keep-alive connections, the others on a new
    connection per request. Each GETs `path` (expecting 200) and, every `post_every` requests, posts
    the page's form (expecting 302), pacing itself to `rate` requests per second, until stop() or
    `duration_s`. Every other outcome (an exception, a timeout, a 5xx) is a failure."""

    def __init__(
        self,
        make_browser,
        *,
        clients: int = 20,
        keepalive: int = 10,
        path: str = "/",
        post_every: int = 0,
        post_fields: dict[str, str] | None = None,
        rate: float = 10.0,
        duration_s: float = 60.0,
    ) -> None:
        self.make_browser = make_browser
        self.clients, self.keepalive, self.path = clients, keepalive, path
        self.post_every, self.post_fields = post_every, post_fields or {}
        self.interval_s = 1.0 / rate
        self.duration_s = duration_s
        self.report = LoadReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> LoadRun:
        deadline = time.monotonic() + self.duration_s
        for index in range(self.clients):
            thread = threading.Thread(target=self._client, args=(index, deadline), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> LoadReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_S + 5)
        return self.report

    def successes(self) -> int:
        with self._lock:
            return self.report.ok

    def _record(self, started: float, failure: str = "", detail: str = "", pid: int = 0) -> None:
        latency = time.monotonic() - started
        with self._lock:
            self.report.max_latency_s = max(self.report.max_latency_s, latency)
            if failure:
                self.report.failures[failure] += 1
                if len(self.report.examples) < 50:
                    self.report.examples.append(f"{time.strftime('%H:%M:%S')} {failure}: {detail}")
            else:
                self.report.ok += 1
                if pid:
                    self.report.pids.add(pid)

    def _client(self, index: int, deadline: float) -> None:
        browser = self.make_browser(keepalive=index < self.keepalive)
        token: tuple[str, str] | None = None
        count = 0
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                count += 1
                started = time.monotonic()
                posting = bool(self.post_every) and count % self.post_every == 0
                try:
                    if posting:
                        if token is None:
                            token = browser.form_token(self.path)
                        fields = {**self.post_fields, token[0]: token[1]}
                        fields["text"] = f"load client {index} request {count}"
                        response = browser.post_form(self.path, fields)
                        expected = 302
                    else:
                        response = browser.get(self.path)
                        expected = 200
                except (OSError, http.client.HTTPException) as exc:
                    kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
                    self._record(
                        started, kind, f"client {index} ({'reused' if browser.reused else 'new'} conn)"
                    )
                else:
                    if response.status == expected:
                        pid = re.search(r"pid (\d+)", response.body)
                        self._record(started, pid=int(pid[1]) if pid else 0)
                    else:
                        self._record(started, f"HTTP {response.status}", response.body[:200])
                self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
        finally:
            with self._lock:
                self.report.stale_reconnects += browser.stale
                self.report.retried += browser.retried
            with contextlib.suppress(Exception):
                browser.close()
