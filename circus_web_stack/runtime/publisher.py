"""The event stream: a ZeroMQ XPUB socket publishing `watcher.<name>.<event>` with Circus's payloads,
and the output tap's `output.` lines to whoever asked for them.

Publishing never blocks the hub: a slow subscriber loses messages past its high-water mark instead.
XPUB (PUB to subscribers) tells which topics are subscribed, so `send` can skip topics nobody asked
for by name: a Circus `circusctl listen` (subscribed to '') is not sent every output line.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import gevent
import zmq.green as zmq

from circus_web_stack.protocol.pubsub import encode_event
from circus_web_stack.runtime.endpoints import bind_endpoint, unlink_ipc
from circus_web_stack.runtime.stats.tracking import Subscriptions

log = logging.getLogger("circus_web_stack.publisher")


class EventPublisher:
    def __init__(self, endpoint: str, *, curve: Any = None) -> None:
        self.endpoint = endpoint
        self.curve = curve
        self._sock: Any = None
        self._arbiter: Any = None
        self.subscriptions = Subscriptions()
        self._reader: gevent.Greenlet | None = None

    def start(self, arbiter: Any) -> None:
        self._sock = zmq.Context.instance().socket(zmq.XPUB)
        self._sock.linger = 0
        self._sock.setsockopt(zmq.XPUB_VERBOSER, 1)  # every (un)subscribe, so the counts stay true
        bind_endpoint(self._sock, self.endpoint, self.curve)
        self._reader = gevent.spawn(self._read_subscriptions, self._sock)
        self._arbiter = arbiter
        arbiter.event_listeners.append(self.publish)
        log.info("publishing events on %s", self.endpoint)

    def publish(self, watcher: str, event: str, payload: dict[str, Any]) -> None:
        self._send_frames(encode_event(watcher, event, payload))

    def asked_for(self, prefix: str) -> bool:
        return self.subscriptions.asked_for(prefix)

    def send(self, topic: str, payload: dict[str, Any]) -> None:
        """Another topic on the same socket (the output tap's `output.` lines)."""
        self._send_frames([topic.encode("utf-8"), json.dumps(payload).encode("utf-8")])

    def _read_subscriptions(self, sock: Any) -> None:
        try:
            while True:
                self.subscriptions.apply(sock.recv())
        except zmq.ZMQError:  # closed by stop()
            return

    def _send_frames(self, frames: list[bytes]) -> None:
        if self._sock is None:
            return
        try:
            self._sock.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            log.debug("%s dropped: no room for subscribers", frames[0].decode("utf-8", "replace"))

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.kill(block=False)
        if self._arbiter is not None and self.publish in self._arbiter.event_listeners:
            self._arbiter.event_listeners.remove(self.publish)
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
            unlink_ipc(self.endpoint)
