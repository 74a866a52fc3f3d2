"""CircusPlugin: Circus 0.19's plugin base class, so a plugin written for Circus runs here with its import
changed (`from circus_web_stack.plugins import CircusPlugin`).

Rules, Circus's unless said: the constructor is `(endpoint, pubsub_endpoint, check_delay,
ssh_server=None, **config)` with config values as text; `active` false refuses to start; start()
runs handle_init, then feeds every `watcher.` event to handle_recv((topic, json)) until stop(), which
calls handle_stop once. call() blocks for the reply (with a deadline, where Circus waited forever)
and cast() sends without one; both are safe from any thread (Circus's Flapping cast from a timer
thread on the loop's socket). Ours: the sockets are open before handle_init, so it may call().
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import zmq

from circus_web_stack.client.daemon import CircusClient, CurveKeys, apply_curve
from circus_web_stack.config.kinds import Bool, InvalidValue
from circus_web_stack.config.sections import Where
from circus_web_stack.plugins.ioloop import READ, IOLoop, PeriodicCallback
from circus_web_stack.protocol.pubsub import TOPIC_PREFIX, parse_event_topic

log = logging.getLogger("circus_web_stack.plugins")

# Events taken off the SUB socket per wake-up, so that timers run between bursts.
_EVENTS_PER_WAKE = 100


class CircusPlugin:
    """Base class of plugins. Subclasses override handle_recv (and handle_init, handle_stop).
    `options_model`, a dataclass of config.declaration option() fields, declares a plugin's options
    once: the loader checks a [plugin:NAME] section against it, and `self.options` holds the parsed
    values."""

    name: ClassVar[str] = ""
    options_model: ClassVar[type | None] = None
    call_timeout_s: ClassVar[float] = 10.0

    def __init__(
        self,
        endpoint: str,
        pubsub_endpoint: str,
        check_delay: float,
        ssh_server: str | None = None,
        **config: Any,
    ) -> None:
        self.daemon = True
        self.config: dict[str, Any] = config
        try:
            self.active = Bool().parse(config.get("active", True))
        except InvalidValue as exc:
            raise ValueError(f"active: {exc}") from None
        self.endpoint = endpoint
        self.pubsub_endpoint = pubsub_endpoint
        self.check_delay = float(check_delay)
        self.ssh_server = ssh_server
        self.curve: CurveKeys | None = None  # set by the runner when the daemon uses CurveZMQ
        self.loop = IOLoop()
        self.running = False
        self.client: CircusClient | None = None
        self.sub_socket: zmq.Socket | None = None
        self._lock = threading.Lock()
        model = type(self).options_model
        self.options: Any = None
        if model is not None:
            from circus_web_stack.config.plugin_section import parse_plugin_options

            self.options = parse_plugin_options(model, config, Where(None, f"plugin:{self.name}"))

    # ----------------------------------------------------------------- life cycle

    def initialize(self) -> None:
        """Open the DEALER (call/cast) and the SUB on `watcher.` events."""
        if self.ssh_server:
            raise ValueError(
                f"ssh_server {self.ssh_server!r}: SSH tunnels are not supported; run the plugin on the "
                "daemon's host, or reach the daemon over CurveZMQ"
            )
        self.client = CircusClient(self.endpoint, timeout=self.call_timeout_s, curve=self.curve)
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        apply_curve(sub, self.curve)
        sub.setsockopt(zmq.SUBSCRIBE, TOPIC_PREFIX.encode())
        sub.connect(self.pubsub_endpoint)
        self.sub_socket = sub
        self.loop.add_handler(sub, self._on_events, READ)

    def start(self) -> None:
        """Run until stop() (or a signal, through the runner)."""
        if not self.active:
            raise ValueError("Will not start an inactive plugin")
        self.loop.make_current()
        self.initialize()
        self.running = True
        try:
            self.handle_init()
            log.info("%s running: subscribed to %s", type(self).__name__, self.pubsub_endpoint)
            self.loop.start()
        finally:
            if self.running:
                self.stop()
            self._close()

    def stop(self) -> None:
        """handle_stop (once), then end the loop."""
        if not self.running:
            self.loop.stop()
            return
        self.running = False
        try:
            self.handle_stop()
        finally:
            self.loop.stop()

    def _close(self) -> None:
        if self.sub_socket is not None:
            self.loop.remove_handler(self.sub_socket)
            self.sub_socket.close(linger=0)
            self.sub_socket = None
        if self.client is not None:
            self.client.close()
            self.client = None
        self.loop.close()

    def _on_events(self, sub: zmq.Socket, events: int) -> None:
        for _ in range(_EVENTS_PER_WAKE):
            try:
                frames = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                self.handle_recv(frames)
            except Exception:
                log.exception("%s: handling %r failed; the plugin goes on", type(self).__name__, frames[:1])

    # ----------------------------------------------------------------- talking to the daemon

    def call(self, command: str, **props: Any) -> dict:
        """Send `command` and return the daemon's reply (error replies too: status "error"). Raises
        client.daemon.CallTimeout when no reply comes within call_timeout_s."""
        with self._lock:
            return self._connected().call(command, **props)

    def cast(self, command: str, **props: Any) -> None:
        """Send `command` without waiting for a reply."""
        with self._lock:
            self._connected().cast(command, **props)

    def _connected(self) -> CircusClient:
        if self.client is None:
            raise RuntimeError("the plugin is not started: call() and cast() need start() first")
        return self.client

    # ----------------------------------------------------------------- to override

    def handle_recv(self, data: Sequence[bytes]) -> None:
        """Every event the daemon publishes: `data` is (topic, json payload), as bytes."""
        raise NotImplementedError()

    def handle_stop(self) -> None:
        """Called once, right before the plugin stops."""

    def handle_init(self) -> None:
        """Called right before the loop starts (the sockets are open)."""

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def split_data(data: Sequence[bytes]) -> tuple[str, str, bytes]:
        """(watcher, action, msg) of an event. The watcher is what lies between the first and the last
        dot of the topic, so dotted names (`api.v2`) work, where Circus split on every dot."""
        topic, msg = data[0], data[-1]
        watcher, action = parse_event_topic(topic)
        return watcher, action, msg

    @staticmethod
    def load_message(msg: bytes | str) -> Mapping[str, Any]:
        return json.loads(msg)


__all__ = ["CircusPlugin"]


class PeriodicPlugin(CircusPlugin):
    """A plugin that calls look_after() every `loop_rate` seconds (its options' field) and does nothing
    with the events it receives: the observers and CommandReloader."""

    def __init__(self, *args: Any, **config: Any) -> None:
        super().__init__(*args, **config)
        self.loop_rate = self.options.loop_rate
        self.period = PeriodicCallback(self.look_after, self.loop_rate * 1000, self.loop)

    def handle_init(self) -> None:
        self.period.start()

    def handle_stop(self) -> None:
        self.period.stop()

    def handle_recv(self, data: Any) -> None:
        pass

    def look_after(self) -> None:
        raise NotImplementedError()
