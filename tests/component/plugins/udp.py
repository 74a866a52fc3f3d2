"""A real UDP listener on 127.0.0.1 for the plugins' statsd metrics and the watchdog's heartbeats."""

from __future__ import annotations

import socket
import threading

from circus_web_stack.testing.waiting import WaitTimeout, wait_until


class UdpListener:
    """Collects every datagram sent to 127.0.0.1:<port> (a port of its own, bound before the test)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.lines.extend(data.decode().splitlines())

    def wait_line(self, predicate, timeout: float = 15.0, what: str = "a statsd line") -> str:
        return wait_until(
            lambda: next((line for line in list(self.lines) if predicate(line)), None),
            timeout,
            f"{what}; got {self.lines[-20:]}",
        )

    def wait_line_after(self, action, predicate, what: str = "a statsd line", tries: int = 30) -> str:
        """Repeat `action` until a line matches: a SUB socket sees only what is published after it
        connected, so the first events after a plugin starts may be lost to it."""
        for _ in range(tries - 1):
            action()
            try:
                return self.wait_line(predicate, 0.3, what)
            except WaitTimeout:
                continue
        action()
        return self.wait_line(predicate, 5.0, what)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def __enter__(self) -> UdpListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def free_udp_port() -> int:
    """A UDP port nothing listens on at this instant (for a plugin that must bind it itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_plugin_running(daemon, class_name: str, timeout: float = 15.0) -> None:
    """Until the plugin's process says it runs (its stderr goes to circusd's)."""
    wait_until(lambda: f"{class_name} running" in daemon.stderr(), timeout, f"{class_name} to run")
