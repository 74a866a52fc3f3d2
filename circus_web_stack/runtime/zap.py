"""Who may connect over CurveZMQ: a ZAP handler (RFC 27) on the daemon's hub that admits only the
client public keys found in `curve_client_keys_dir`. Without the directory any client that knows the
daemon's public key is admitted (traffic is still encrypted), and the log says so."""

from __future__ import annotations

import logging
from typing import Any

import gevent
import zmq.green as zmq
from zmq.auth import load_certificates
from zmq.utils.z85 import encode as z85_encode

log = logging.getLogger("circus_web_stack.zap")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"


def load_client_keys(directory: str) -> set[bytes]:
    """Z85 public keys of every certificate (`*.key`) in `directory` (the config checked it exists)."""
    return set(load_certificates(directory))


def admitted_summary(count: int, directory: str) -> str:
    """What the daemon admits, as its start-up log says it."""
    keys = "no client key" if count == 0 else f"{count} client key{'s' if count > 1 else ''}"
    return (
        f"admitting {keys} from {directory} (curve_client_keys_dir), and the daemon's own key, "
        "which circusd-stats and circushttpd use"
    )


class ZapHandler:
    """An Extension: start before the sockets it guards bind, stop after them.

    It admits the client keys of `directory` and the daemon's own public key, with which its helpers
    (circusd-stats, circushttpd) connect; the log at start counts the two apart."""

    def __init__(self, client_keys: set[bytes], *, directory: str, own_key: bytes) -> None:
        self.client_keys = client_keys
        self.directory = directory
        self.allowed = client_keys | {own_key}
        self._sock: Any = None
        self._loop: gevent.Greenlet | None = None

    def start(self, arbiter: Any) -> None:
        self._sock = zmq.Context.instance().socket(zmq.REP)
        self._sock.linger = 0
        self._sock.bind(ZAP_ENDPOINT)
        self._loop = gevent.spawn(self._serve)
        log.info("CurveZMQ: %s", admitted_summary(len(self.client_keys), self.directory))

    def _serve(self) -> None:
        while True:
            frames = self._sock.recv_multipart()
            version, request_id, _domain, address, _identity, mechanism = frames[:6]
            credentials = frames[6:]
            admitted = (
                mechanism == b"CURVE" and bool(credentials) and (z85_encode(credentials[0]) in self.allowed)
            )
            if not admitted:
                log.warning(
                    "refused a %s client from %s: its key is not in curve_client_keys_dir",
                    mechanism.decode(errors="replace"),
                    address.decode(errors="replace"),
                )
            code, text = (b"200", b"OK") if admitted else (b"400", b"client key not allowed")
            self._sock.send_multipart([version, request_id, code, text, b"", b""])

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
