"""The control endpoint: a ZeroMQ ROUTER speaking Circus's JSON command protocol.

Every command runs in a greenlet of its own, so no command waits behind another watcher's work (the
per-watcher lock is the only serialisation, Circus's global lock is gone). Malformed input gets an
error reply naming the problem and never reaches a handler; a handler's crash becomes an error reply.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

import gevent
import zmq.green as zmq

from circus_web_stack.core.errors import ClientError, ConfigError, Errno
from circus_web_stack.protocol.control import (
    Dropped,
    Invalid,
    Request,
    decode_request,
    encode_error,
    encode_reply,
    server_error,
)
from circus_web_stack.runtime.endpoints import CurveKeys, bind_endpoint, unlink_ipc
from circus_web_stack.runtime.handlers import HANDLERS, REPLY_FIRST, precheck

log = logging.getLogger("circus_web_stack.control")

# zmq drops the peer of a message larger than this outright; the codec's 1 MiB cap answers first.
ZMQ_MAX_MESSAGE = 16 << 20

# Told of every command once its work is over: (command, seconds since it arrived, succeeded).
CommandObserver = Callable[[str, float, bool], None]


class ControlServer:
    def __init__(
        self,
        endpoint: str,
        *,
        curve: CurveKeys | None = None,
        owner_uid: int | None = None,
        observer: CommandObserver | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.observer = observer
        self.curve = curve
        self.owner_uid = owner_uid
        self._sock: Any = None
        self._loop: gevent.Greenlet | None = None
        self._arbiter: Any = None

    def start(self, arbiter: Any) -> None:
        self._arbiter = arbiter
        self._sock = zmq.Context.instance().socket(zmq.ROUTER)
        self._sock.linger = 0
        self._sock.setsockopt(zmq.MAXMSGSIZE, ZMQ_MAX_MESSAGE)
        bind_endpoint(self._sock, self.endpoint, self.curve, self.owner_uid)
        self._loop = gevent.spawn(self._serve)
        log.info("control endpoint on %s", self.endpoint)

    def stop(self) -> None:
        if self._loop is not None and self._loop is not gevent.getcurrent():
            self._loop.kill(block=False)
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
            unlink_ipc(self.endpoint)

    def _serve(self) -> None:
        while True:
            frames = self._sock.recv_multipart()
            decoded = decode_request(frames)
            if isinstance(decoded, Dropped):
                log.warning("dropped a control message: %s", decoded.reason)
            elif isinstance(decoded, Invalid):
                log.warning("refused a control message: %s (%s)", decoded.error.reason, decoded.detail)
                self._send(encode_error(decoded, decoded.error, now=time.time()))
            else:
                gevent.spawn(self._run, decoded)

    def _send(self, frames: list[bytes] | None) -> None:
        if frames is not None and self._sock is not None:
            self._sock.send_multipart(frames)

    def _run(self, request: Request) -> None:
        started = time.perf_counter()
        ok = self._answer(request)
        if self.observer is not None:
            self.observer(request.command, time.perf_counter() - started, ok)

    def _answer(self, request: Request) -> bool:
        """Run the command and send its reply; whether it succeeded."""
        handler = HANDLERS[request.command]
        # Circus: without `waiting` the reply is an immediate "ok" and the work goes on; errors after
        # that are only logged. Input errors are found first (precheck), so that "ok" is never a lie.
        replied = False
        try:
            precheck(self._arbiter, request.command, request.properties)
            if (request.spec.takes_waiting and not request.waiting) or request.command in REPLY_FIRST:
                self._send(encode_reply(request, None, now=time.time()))
                replied = True
            result = handler(self._arbiter, request.properties)
        except Exception as exc:
            error, tb = self._describe_failure(request.command, exc)
            if not replied:
                self._send(encode_error(request, error, now=time.time(), tb=tb))
            return False
        if replied:
            return True
        try:
            frames = encode_reply(request, result, now=time.time())
        except (TypeError, ValueError):
            log.exception("%s produced an unusable result %r", request.command, result)
            frames = encode_error(request, server_error(), now=time.time())
            self._send(frames)
            return False
        self._send(frames)
        return True

    @staticmethod
    def _describe_failure(command: str, exc: Exception) -> tuple[ClientError, str | None]:
        """The error reply for a failed command, with Circus's errno; a traceback only for bugs."""
        if isinstance(exc, ClientError):
            log.info("%s refused: %s", command, exc.reason)
            return exc, None
        if isinstance(exc, ConfigError):
            log.info("%s refused: %s", command, exc)
            return ClientError(str(exc), Errno.MESSAGE_ERROR), None
        log.exception("%s failed", command)
        if isinstance(exc, OSError):
            return ClientError(str(exc), Errno.OS_ERROR), traceback.format_exc()
        return ClientError(f"{type(exc).__name__}: {exc}", Errno.COMMAND_ERROR), traceback.format_exc()
