"""A tiny stand-in for circusd's control socket: a real ROUTER on ipc:// answering canned replies
from a thread, decoding requests with the real codec. It records what it received.

Rule: a test double for the daemon only, never for the client or circusctl under test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq

from circus_web_stack.core.errors import ClientError
from circus_web_stack.protocol.control import Invalid, Request, decode_request, encode_error, encode_reply

Handler = Callable[[dict], dict | list | None]


@dataclass
class Responder:
    endpoint: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    silent: bool = False  # receive but never answer: a daemon that is stuck
    requests: list[Request] = field(default_factory=list)
    raw: list[list[bytes]] = field(default_factory=list)
    before_reply: bytes | None = None  # a stale reply body sent ahead of the real one
    curve_secret_key: bytes | None = None  # serve CURVE with this Z85 secret key

    def __post_init__(self) -> None:
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.LINGER, 0)
        if self.curve_secret_key is not None:
            self._socket.setsockopt(zmq.CURVE_SERVER, 1)
            self._socket.setsockopt(zmq.CURVE_SECRETKEY, self.curve_secret_key)
        self._socket.bind(self.endpoint)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="responder", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close(linger=0)
        self._context.term()

    def received(self, command: str) -> list[Request]:
        return [r for r in self.requests if r.command == command]

    def _serve(self) -> None:
        while not self._stop.is_set():
            if not self._socket.poll(20, zmq.POLLIN):
                continue
            frames = self._socket.recv_multipart()
            self.raw.append(frames)
            decoded = decode_request(frames)
            if self.silent:
                continue
            if isinstance(decoded, Invalid):
                out = encode_error(decoded, decoded.error, now=time.time())
            elif isinstance(decoded, Request):
                self.requests.append(decoded)
                out = self._answer(decoded)
            else:
                continue
            if out is None:
                continue
            if self.before_reply is not None:
                self._socket.send_multipart([*out[:-1], self.before_reply])
            self._socket.send_multipart(out)

    def _answer(self, request: Request) -> list[bytes] | None:
        handler = self.handlers.get(request.command)
        if handler is None:
            return encode_error(
                request, ClientError(f"no canned reply for {request.command}"), now=time.time()
            )
        try:
            result = handler(request.properties)
        except ClientError as exc:
            return encode_error(request, exc, now=time.time())
        return encode_reply(request, result, now=time.time())
