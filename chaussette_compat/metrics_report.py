"""The reporter of request figures: every REPORT_INTERVAL_S, and once more at the end, sends what the
RequestMeter counted to statsd over UDP (or a unix datagram socket) and, with --request-metrics, to
circusd on NOTIFY_SOCKET.

Rules: reporting never slows or stops the server: sends are non-blocking datagrams, a failed one is
logged once per destination and dropped (statsd is lossy by design; circusd gets totals, so its next
report makes up for a lost one). A thread (a greenlet under gevent's monkey-patching) does the work.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

from .notify import notify_address
from .options import StatsdAddress
from .request_metrics import RequestMeter, notify_report, pack_datagrams, statsd_lines

log = logging.getLogger("chaussette")

REPORT_INTERVAL_S = 1.0


class Reporter:
    def __init__(
        self,
        meter: RequestMeter,
        *,
        statsd: StatsdAddress | None = None,
        prefix: str = "",
        to_circusd: bool = False,
        environ: Mapping[str, str] = os.environ,
        interval_s: float = REPORT_INTERVAL_S,
    ) -> None:
        self.meter = meter
        self.prefix = prefix
        self.interval_s = interval_s
        self._failed: set[str] = set()
        self._sent_codes: dict[int, int] = {}
        self._reported: tuple[int, float] | None = None  # (requests, sum) of the last circusd report
        self._statsd: tuple[socket.socket, object] | None = None
        if statsd is not None:
            self._statsd = _open_statsd(statsd)
        self._notify: tuple[socket.socket, str | bytes] | None = None
        if to_circusd:
            address = notify_address(environ.get("NOTIFY_SOCKET", ""))
            if address is None:
                log.warning(
                    "--request-metrics: no usable NOTIFY_SOCKET (not run by circusd?); the request "
                    "figures go nowhere but statsd"
                )
            else:
                self._notify = (_datagram_socket(socket.AF_UNIX), address)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="request-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop, and send what the last interval counted."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 1)
        self.flush()
        for target in (self._statsd, self._notify):
            if target is not None:
                target[0].close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.flush()
            except Exception:  # a bug here must not end the reporting for good
                log.exception("reporting the request figures failed")

    def flush(self) -> None:
        meter = self.meter
        codes = meter.codes
        if self._statsd is not None:
            sent = self._sent_codes
            new = {code: n - sent.get(code, 0) for code, n in codes.items() if n != sent.get(code, 0)}
            self._sent_codes = codes
            sock, address = self._statsd
            for datagram in pack_datagrams(statsd_lines(self.prefix, new, meter.take_timings())):
                self._send(sock, datagram, address, "statsd")
        if self._notify is not None:
            reported = (sum(codes.values()), meter.sum_s)
            if reported != self._reported:
                self._reported = reported
                sock, notify = self._notify
                text = notify_report(codes, list(meter.buckets), meter.sum_s)
                self._send(sock, text.encode(), notify, "NOTIFY_SOCKET")

    def _send(self, sock: socket.socket, data: bytes, address: object, what: str) -> None:
        try:
            sock.sendto(data, address)
        except OSError as exc:
            if what not in self._failed:
                self._failed.add(what)
                log.warning("cannot send request figures to %s (%s); dropping them, logged once", what, exc)


def _open_statsd(target: StatsdAddress) -> tuple[socket.socket, object]:
    if target.path is not None:
        return _datagram_socket(socket.AF_UNIX), target.path
    family, _, _, _, address = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)[0]
    return _datagram_socket(family), address


def _datagram_socket(family: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    sock.setblocking(False)
    return sock
