"""Run the real `chaussette` as circusd will: a listening socket made here, passed with pass_fds and
`--fd N`, readiness read from a real NOTIFY_SOCKET datagram socket; plus a small raw HTTP client.

Every wait polls against a monotonic deadline; every process started here is stopped by `close()`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
_SCRIPT = Path(sys.executable).parent / "chaussette"  # the console script pyproject.toml declares
CHAUSSETTE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "chaussette_compat"]
APPS = "tests.component.chaussette.apps"
STARTUP_TIMEOUT_S = 15.0


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.01)


def open_tcp_listener(backlog: int = 128) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class NotifySocket:
    """A unix datagram socket in tmp_path standing in for circusd's readiness listener."""

    def __init__(self, path: Path | str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.address = str(path)
        self.sock.bind("\0" + self.address[1:] if self.address.startswith("@") else self.address)
        self.messages: list[str] = []

    def wait_message(self, expected: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while expected not in self.messages:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no {expected!r} on NOTIFY_SOCKET within {timeout_s}s; got {self.messages}"
                )
            self.sock.settimeout(remaining)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue

    def close(self) -> None:
        self.sock.close()


class Worker:
    """One `chaussette` process serving on an inherited listener."""

    def __init__(
        self,
        tmp_path: Path,
        app: str,
        *args: str,
        listener: socket.socket | None = None,
        listen_args: list[str] | None = None,
        backend: str = "gevent",
        env: dict[str, str] | None = None,
        wait_ready: bool = True,
        name: str = "worker",
    ) -> None:
        """Serve on `listener` (a new TCP one by default) with --fd N, or with `listen_args` instead."""
        if listen_args is None:
            listener = listener if listener is not None else open_tcp_listener()
            listen_args = ["--fd", str(listener.fileno())]
        self.listener = listener
        inet = listener is not None and listener.family != socket.AF_UNIX
        self.port = listener.getsockname()[1] if inet else 0
        self.notify = NotifySocket(tmp_path / f"{name}-notify.sock")
        self.log_path = tmp_path / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        environment = dict(os.environ, NOTIFY_SOCKET=self.notify.address, PYTHONPATH=str(REPO))
        environment.update(env or {})
        argv = [*CHAUSSETTE, *listen_args, "--backend", backend, *args, app]
        self.process = subprocess.Popen(
            argv,
            pass_fds=[listener.fileno()] if listener is not None else [],
            env=environment,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if wait_ready:
            self.wait_ready()

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self) -> None:
        try:
            self.notify.wait_message("READY=1", STARTUP_TIMEOUT_S)
        except AssertionError:
            raise AssertionError(f"worker not ready; its log:\n{self.log()}") from None

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait_exit(self, timeout_s: float) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker still running after {timeout_s}s; its log:\n{self.log()}") from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()
        self.notify.close()
        if self.listener is not None:
            self.listener.close()


def run_chaussette(
    *args: str, timeout_s: float = 30.0, pass_fds: tuple[int, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run chaussette expecting it to exit by itself (startup failures)."""
    return subprocess.run(
        [*CHAUSSETTE, *args],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        pass_fds=pass_fds,
    )


# -- a raw HTTP/1.1 client ------------------------------------------------------------------------


class Response:
    def __init__(
        self, status: int, reason: str, version: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:60]!r}>"


class Client:
    """A connection that sends raw bytes and parses responses itself (pipelining-safe)."""

    def __init__(
        self, port: int | None = None, *, unix_path: str | None = None, timeout_s: float = 10.0
    ) -> None:
        if unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout_s)
            self.sock.connect(unix_path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self,
        method: str = "GET",
        target: str = "/",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        version: str = "HTTP/1.1",
    ) -> None:
        lines = [f"{method} {target} {version}", "Host: test"]
        for key, value in (headers or {}).items():
            lines.append(f"{key}: {value}")
        if body and not any(
            key.lower() in ("content-length", "transfer-encoding") for key in (headers or {})
        ):
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def read_response(self, method: str = "GET") -> Response:
        status_line = self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed before a response")
        version, code, reason = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            line = self.reader.readline().decode("latin-1").rstrip("\r\n")
            if not line:
                break
            key, _, value = line.partition(":")
            headers.append((key.strip(), value.strip()))
        response = Response(int(code), reason, version, headers, b"")
        status = int(code)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return response
        length = response.header("Content-Length")
        if response.header("Transfer-Encoding") == "chunked":
            parts = []
            while True:
                size = int(self.reader.readline().split(b";")[0], 16)
                if size == 0:
                    while self.reader.readline() not in (b"\r\n", b""):
                        pass
                    break
                parts.append(self.reader.read(size))
                self.reader.readline()
            response.body = b"".join(parts)
        elif length is not None:
            response.body = self.reader.read(int(length))
        else:
            response.body = self.reader.read()
        return response

    def is_closed_by_peer(self, timeout_s: float) -> bool:
        """True if the server closes the connection within `timeout_s` (reads EOF or a reset)."""
        self.sock.settimeout(timeout_s)
        try:
            return self.reader.read(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def get(port: int, target: str = "/", **kwargs: object) -> Response:
    client = Client(port)
    try:
        client.request("GET", target, **kwargs)  # type: ignore[arg-type]
        return client.read_response()
    finally:
        client.close()
