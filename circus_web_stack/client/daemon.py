"""The blocking client of the daemon's control and event channels: circusctl, circus-top and the
dashboard all talk to circusd through it.

Rule: every call has a deadline and says which endpoint did not answer and whether it never
connected or connected but did not reply. Plain pyzmq; zmq.green only when gevent has patched
the process, so a blocking call never freezes a gevent hub.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any

import zmq

from circus_web_stack.protocol.control import decode_reply, encode_request
from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir
from circus_web_stack.protocol.pubsub import Event, decode_event

ENDPOINT_ENV = "CIRCUSCTL_ENDPOINT"
# The same keys reach one daemon's control, event and stats endpoints: circusctl and circus-top share them.
CURVE_SERVER_KEY_ENV = "CIRCUSCTL_CURVE_SERVER_KEY"
CURVE_CLIENT_KEY_ENV = "CIRCUSCTL_CURVE_CLIENT_KEY"
DEFAULT_TIMEOUT_S = 5.0
# circusctl's default for a command sent with waiting, which replies when its work is done (a rolling
# reload of 4 Django workers outlasts Circus's 5 s).
WAITING_TIMEOUT_S = 300.0


class CallError(Exception):
    """A call that got no usable reply. `endpoint` is where it went."""

    def __init__(self, message: str, *, endpoint: str) -> None:
        self.endpoint = endpoint
        super().__init__(message)


class CallTimeout(CallError):
    """No reply before the deadline. `connected` tells a daemon that is not there (or refuses the
    CURVE handshake) from one that is there but did not answer in time."""

    def __init__(self, message: str, *, endpoint: str, connected: bool) -> None:
        self.connected = connected
        super().__init__(message, endpoint=endpoint)


class ReplyError(CallError):
    """The daemon answered with an error reply."""

    def __init__(self, reply: dict, *, endpoint: str) -> None:
        self.reply = reply
        self.reason = str(reply.get("reason"))
        self.errno = reply.get("errno")
        super().__init__(f"error: {self.reason}", endpoint=endpoint)


@dataclass(frozen=True)
class CurveKeys:
    """CurveZMQ keys, Z85-encoded: the daemon's public key and this client's key pair."""

    server_public: bytes
    client_public: bytes
    client_secret: bytes


def load_curve_keys(server_key: str, client_key: str | None = None) -> CurveKeys:
    """Keys from `server_key` (a Z85 public key or a certificate file as zmq.auth writes them) and
    `client_key` (a secret certificate file); without one, a fresh key pair is made for this
    client, which works when the daemon encrypts without restricting which clients may connect."""
    if not zmq.has("curve"):
        raise ValueError("this libzmq was built without CURVE support")
    server_public = _public_key(server_key)
    if client_key is None:
        client_public, client_secret = zmq.curve_keypair()
    else:
        client_public, client_secret = _load_certificate(client_key)
        if client_secret is None:
            raise ValueError(f"{client_key}: no secret key in it (give the .key_secret file)")
    return CurveKeys(server_public, client_public, client_secret)


def curve_keys_from_options(server_key: str | None, client_key: str | None) -> CurveKeys | None:
    """The keys --curve-server-key and --curve-client-key give (None: no CurveZMQ). Raises ValueError
    for a client key without the daemon's public key, or a key that cannot be read."""
    if not server_key:
        if client_key:
            raise ValueError("--curve-client-key needs --curve-server-key (the daemon's public key)")
        return None
    return load_curve_keys(server_key, client_key)


def default_endpoint(env: Mapping[str, str] | None = None, uid: int | None = None) -> str:
    """$CIRCUSCTL_ENDPOINT, else the control socket in the daemon's default runtime directory."""
    env = os.environ if env is None else env
    uid = os.getuid() if uid is None else uid
    explicit = env.get(ENDPOINT_ENV)
    if explicit:
        return explicit
    return default_endpoints(default_runtime_dir(env, uid))["control"]


class CircusClient:
    """A DEALER connected to the control endpoint. Replies are matched to requests by id; replies
    to earlier, timed-out requests are discarded. Close it (or use it as a context manager)."""

    def __init__(
        self,
        endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        curve: CurveKeys | None = None,
    ) -> None:
        self.endpoint = endpoint or default_endpoint()
        self.timeout = timeout
        self._zmq = _zmq_module()
        self._socket = self._zmq.Context.instance().socket(zmq.DEALER)
        self._socket.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
        self._socket.setsockopt(zmq.LINGER, 0)
        # Queue only to a completed connection: a request to a daemon that is not there fails at
        # its deadline instead of waiting in a queue and being delivered minutes later.
        self._socket.setsockopt(zmq.IMMEDIATE, 1)
        apply_curve(self._socket, curve)
        self._socket.connect(self.endpoint)

    def call(self, command: str, **properties: Any) -> dict:
        """Send `command` and return the reply dict, error replies included (status "error")."""
        return self.call_message(command, properties)

    def call_ok(self, command: str, **properties: Any) -> dict:
        """Like call(), but an error reply raises ReplyError."""
        reply = self.call_message(command, properties)
        if reply.get("status") == "error":
            raise ReplyError(reply, endpoint=self.endpoint)
        return reply

    def call_message(self, command: str, properties: Mapping[str, Any] | None = None) -> dict:
        request_id = uuid.uuid4().hex
        deadline = time.monotonic() + self.timeout
        self._send(encode_request(command, dict(properties or {}), request_id=request_id), command, deadline)
        while True:
            remaining_ms = _remaining_ms(deadline)
            if remaining_ms == 0 or not self._socket.poll(remaining_ms, zmq.POLLIN):
                raise CallTimeout(
                    f"no reply to {command} from {self.endpoint} within {self.timeout:g}s",
                    endpoint=self.endpoint,
                    connected=True,
                )
            reply = matching_reply(self._socket.recv_multipart(), request_id, self.endpoint)
            if reply is not None:
                return reply

    @property
    def socket(self) -> zmq.Socket:
        """The DEALER itself, for a caller that polls many clients at once (client/fleet.py)."""
        return self._socket

    def cast(self, command: str, **properties: Any) -> None:
        """Send `command` with msg_type "cast": the daemon runs it and sends no reply."""
        deadline = time.monotonic() + self.timeout
        self._send(
            encode_request(command, properties, request_id=uuid.uuid4().hex, cast=True), command, deadline
        )

    def close(self) -> None:
        self._socket.close(linger=0)

    def __enter__(self) -> CircusClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, body: bytes, command: str, deadline: float) -> None:
        remaining_ms = _remaining_ms(deadline)
        if remaining_ms == 0 or not self._socket.poll(remaining_ms, zmq.POLLOUT):
            raise CallTimeout(
                f"could not connect to {self.endpoint} within {self.timeout:g}s to send {command}",
                endpoint=self.endpoint,
                connected=False,
            )
        self._socket.send(body, zmq.NOBLOCK)


def matching_reply(frames: Sequence[bytes], request_id: str, endpoint: str) -> dict | None:
    """The reply in `frames` if it answers `request_id`; None for a late reply to an earlier request
    that timed out (not ours). An unreadable reply raises CallError."""
    try:
        reply = decode_reply(frames[-1])
    except ValueError as exc:
        raise CallError(f"{endpoint} sent an unreadable reply: {exc}", endpoint=endpoint) from None
    return reply if reply.get("id") == request_id else None


def iter_messages(
    endpoint: str,
    topics: Sequence[str] = ("",),
    *,
    timeout: float | None = None,
    curve: CurveKeys | None = None,
) -> Iterator[list[bytes]]:
    """The raw multipart messages a SUB socket receives from `endpoint` for these topic prefixes,
    until `timeout` seconds have passed (forever when None). Ctrl-C interrupts it."""
    zmq_module = _zmq_module()
    socket = zmq_module.Context.instance().socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    apply_curve(socket, curve)
    try:
        for topic in topics or ("",):
            socket.setsockopt(zmq.SUBSCRIBE, topic.encode("utf-8"))
        socket.connect(endpoint)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait_ms = 1000 if deadline is None else _remaining_ms(deadline)
            if deadline is not None and wait_ms == 0:
                return
            if socket.poll(wait_ms, zmq.POLLIN):
                yield socket.recv_multipart()
    finally:
        socket.close(linger=0)


def iter_events(
    endpoint: str,
    topics: Sequence[str] = ("watcher.",),
    *,
    timeout: float | None = None,
    curve: CurveKeys | None = None,
) -> Iterator[Event]:
    """The daemon's events (see protocol.pubsub), decoded; messages that are not events are skipped."""
    for frames in iter_messages(endpoint, topics, timeout=timeout, curve=curve):
        try:
            yield decode_event(frames)
        except ValueError:
            continue


def _zmq_module() -> ModuleType:
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        return import_module("zmq.green")
    return zmq


def apply_curve(socket: Any, curve: CurveKeys | None) -> None:
    """The client's CurveZMQ keys, if any; and IPv6, so that tcp://[fd00::2]:5555 endpoints connect
    (every client socket comes through here)."""
    socket.setsockopt(zmq.IPV6, 1)
    if curve is None:
        return
    socket.setsockopt(zmq.CURVE_SERVERKEY, curve.server_public)
    socket.setsockopt(zmq.CURVE_PUBLICKEY, curve.client_public)
    socket.setsockopt(zmq.CURVE_SECRETKEY, curve.client_secret)


def _public_key(value: str) -> bytes:
    if os.path.exists(value):
        public, _secret = _load_certificate(value)
        return public
    key = value.strip().encode("ascii", "replace")
    if len(key) != 40:
        raise ValueError(f"{value!r} is neither a key file nor a 40-character Z85 public key")
    return key


def _load_certificate(path: str) -> tuple[bytes, bytes | None]:
    import zmq.auth  # only CURVE users pay for it at start-up

    return zmq.auth.load_certificate(path)


def _remaining_ms(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))
