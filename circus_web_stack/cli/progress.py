"""The live progress line of `circusctl reload NAME --waiting` on a terminal: the daemon's reload events,
read from the pubsub endpoint in a thread while the command waits for its reply."""

from __future__ import annotations

import json
import threading
from typing import Any, TextIO

import zmq
from zmq.utils.monitor import recv_monitor_message

from circus_web_stack.protocol.pubsub import event_topic

# A daemon that has not completed the handshake by then is slow or absent: the command will say so.
HANDSHAKE_WAIT_S = 2.0


def render_reload_progress(watcher: str, payload: dict[str, Any]) -> str:
    """`reload web: 3 old serving, 2 new (1 ready)`, or the rollback's reason."""
    if payload.get("rolled_back"):
        return f"reload {watcher}: rolled back: {payload.get('reason', '')}"
    if "old" not in payload:
        return f"reload {watcher}: done"
    text = f"reload {watcher}: {payload['old']} old serving, {payload['new']} new ({payload['ready']} ready)"
    return text + (", done" if payload.get("done") else "")


class ReloadProgress:
    """Prints each reload event of `watcher` over the previous line of `out` until stopped."""

    def __init__(self, pubsub_endpoint: str, watcher: str, out: TextIO, curve_apply: Any = None) -> None:
        self._out = out
        self._watcher = watcher
        self._stop = threading.Event()
        self._sock = zmq.Context.instance().socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.ipv6 = True
        if curve_apply is not None:
            curve_apply(self._sock)
        self._sock.subscribe(event_topic(watcher, "reload"))
        self._connect(pubsub_endpoint)
        self._width = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self, endpoint: str) -> None:
        """Connect and wait (at most HANDSHAKE_WAIT_S) for the handshake, after which the subscription
        is on its way: the command is sent only then, or the daemon's first events (a reload's first
        spawn comes within a millisecond) would go out before it knows we listen."""
        monitor = self._sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        try:
            self._sock.connect(endpoint)
            if monitor.poll(HANDSHAKE_WAIT_S * 1000):
                recv_monitor_message(monitor)
        finally:
            self._sock.disable_monitor()
            monitor.close(linger=0)

    def __enter__(self) -> ReloadProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close(linger=0)
        if self._width:
            self._out.write("\n")
            self._out.flush()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._sock.poll(100):
                continue
            frames = self._sock.recv_multipart()
            try:
                payload = json.loads(frames[-1])
            except ValueError:
                continue
            line = render_reload_progress(self._watcher, payload)
            self._out.write("\r" + line.ljust(self._width))
            self._out.flush()
            self._width = max(self._width, len(line))
