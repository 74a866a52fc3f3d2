"""One daemon as the console sees it: a single subscription to its event channel (events and output
lines) and one to its stats stream, whatever the number of browsers, folded into a live model and
broadcast on the shared channel.

Rules: the daemon is never polled per browser; control calls are made only at start, after a burst
of events (one refresh, `status` plus `processes` per watcher, at most every DEBOUNCE_S) and for
operators' actions. All of it runs in this process's gevent hub; none of it blocks.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent

from circus_web_stack.client.daemon import CallError, CircusClient, CurveKeys, ReplyError, iter_messages
from circus_web_stack.config.substitution import referenced_sockets
from circus_web_stack.protocol.pubsub import (
    OUTPUT_TOPIC_PREFIX,
    TOPIC_PREFIX,
    decode_event,
    parse_output_topic,
)
from circus_web_stack.protocol.stats import CIRCUS_TOPIC, SOCKETS_TOPIC, STATS_TOPIC_PREFIX, parse_stat_topic
from circus_web_stack.web.channel import Channel

log = logging.getLogger("circus_web_stack.web")

WATCHER_HISTORY = 300  # points of each watcher's aggregate chart: 5 minutes at 1 s
PROCESS_HISTORY = 120  # points of each process's chart
EVENTS_KEPT = 500
OUTPUT_LINES_KEPT = 1000  # per watcher
HELPER_WATCHERS = ("circusd-stats", "circushttpd")
DEBOUNCE_S = 0.3
RECONNECT_S = 2.0
CALL_TIMEOUT_S = 10.0
HEARTBEAT_TICKS = 3  # seconds between two checks that the daemon still answers
HEARTBEAT_TIMEOUT_S = 2.0


def _number(value: object) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _sockets_used(options: dict[str, Any]) -> list[str]:
    text = " ".join(str(options.get(key) or "") for key in ("cmd", "args"))
    return sorted(referenced_sockets(text))


class WatcherView:
    def __init__(self, name: str) -> None:
        self.name = name
        self.state = "unknown"
        self.processes: dict[int, dict[str, Any]] = {}
        self.aggregate: dict[str, Any] = {}
        self.history: deque[list[float | None]] = deque(maxlen=WATCHER_HISTORY)
        self.process_history: dict[int, deque[list[float | None]]] = {}
        self.output: deque[dict[str, Any]] = deque(maxlen=OUTPUT_LINES_KEPT)
        self.reload: dict[str, Any] | None = None
        self.sockets: list[str] | None = None  # the [socket:NAME]s its command line uses; None: unread

    def process(self, pid: int) -> dict[str, Any]:
        proc = self.processes.get(pid)
        if proc is None:
            proc = self.processes[pid] = {"pid": pid, "state": "running"}
        return proc

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "processes": list(self.processes.values()),
            "aggregate": self.aggregate,
            "history": list(self.history),
            "reload": self.reload,
            "sockets": self.sockets or [],
        }


class DaemonView:
    """`index` names the daemon in every message (the console may watch several); `node` is its name
    in a fleet (the page's node column and filter), else its endpoint."""

    def __init__(
        self,
        index: int,
        endpoint: str,
        channel: Channel,
        *,
        curve: CurveKeys | None = None,
        clock: Callable[[], float] = time.time,
        node: str | None = None,
    ) -> None:
        self.index = index
        self.endpoint = endpoint
        self.node = node or endpoint
        self.channel = channel
        self.curve = curve
        self.clock = clock
        self.connected = False
        self.error: str | None = None
        self.watchers: dict[str, WatcherView] = {}
        self.sockets: dict[int, dict[str, Any]] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)
        self._status_due: gevent.Greenlet | None = None
        self._greenlets: list[gevent.Greenlet] = []

    # ----------------------------------------------------------------- control calls

    def call(self, command: str, timeout: float = CALL_TIMEOUT_S, **properties: Any) -> dict:
        """One command on a client of its own (a shared DEALER would mix concurrent replies)."""
        with CircusClient(self.endpoint, timeout=timeout, curve=self.curve) as client:
            return client.call(command, **properties)

    def start(self) -> None:
        self._greenlets = [gevent.spawn(self._connect)]

    def stop(self) -> None:
        gevent.killall(self._greenlets + ([self._status_due] if self._status_due else []), block=False)

    def _connect(self) -> None:
        while True:
            try:
                endpoints = self.call("globaloptions").get("options", {})
                self._refresh_status()
                break
            except CallError as exc:
                self._set_connected(False, str(exc))
                gevent.sleep(RECONNECT_S)
        # A daemon without statsd publishes no stats: the page then shows processes without figures.
        for endpoint, topics in (
            (endpoints.get("pubsub_endpoint"), [TOPIC_PREFIX, OUTPUT_TOPIC_PREFIX]),
            (endpoints.get("stats_endpoint"), [STATS_TOPIC_PREFIX]),
        ):
            if endpoint:
                self._greenlets.append(gevent.spawn(self._follow, endpoint, topics))
        self._greenlets.append(gevent.spawn(self._tick))

    def _set_connected(self, connected: bool, error: str | None = None) -> None:
        if (connected, error) != (self.connected, self.error):
            self.connected, self.error = connected, error
            self.channel.publish("daemon", {"d": self.index, "connected": connected, "error": error})

    def _refresh_status(self, timeout: float = CALL_TIMEOUT_S) -> None:
        """Each watcher's state and each process's wid, state and readiness, from the daemon (the
        streams carry neither); one client for the whole refresh, which never runs twice at once."""
        with CircusClient(self.endpoint, timeout=timeout, curve=self.curve) as client:
            statuses = client.call_ok("status").get("statuses", {})
            for name in list(self.watchers):
                if name not in statuses:
                    del self.watchers[name]
            for name, state in statuses.items():
                view = self._watcher(name)
                view.state = state
                if name not in HELPER_WATCHERS:  # their processes are reported under stat.circus
                    try:
                        procs = client.call_ok("processes", name=name)["processes"]
                    except ReplyError:  # removed meanwhile: the next status drops it
                        continue
                    self._merge_processes(view, procs)
                    if view.sockets is None:
                        view.sockets = _sockets_used(client.call_ok("options", name=name)["options"])
        self._set_connected(True)
        self.channel.publish("status", {"d": self.index, "statuses": statuses})

    def _merge_processes(self, view: WatcherView, procs: list[dict[str, Any]]) -> None:
        current = {p["pid"] for p in procs}
        for pid in list(view.processes):
            if pid not in current:
                del view.processes[pid]
                view.process_history.pop(pid, None)
        for proc in procs:
            view.process(proc["pid"]).update(proc)

    def _status_soon(self) -> None:
        if self._status_due is None or self._status_due.dead:
            self._status_due = gevent.spawn_later(DEBOUNCE_S, self._refresh_status_quietly)

    def _refresh_status_quietly(self, timeout: float = CALL_TIMEOUT_S) -> None:
        try:
            self._refresh_status(timeout)
        except CallError as exc:
            self._set_connected(False, str(exc))

    # ----------------------------------------------------------------- the two subscriptions

    def _follow(self, endpoint: str, topics: list[str]) -> None:
        for frames in iter_messages(endpoint, topics, curve=self.curve):
            try:
                self.receive(frames)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("%s: unreadable message %r: %s", endpoint, frames[:1], exc)

    def _watcher(self, name: str) -> WatcherView:
        view = self.watchers.get(name)
        if view is None:
            view = self.watchers[name] = WatcherView(name)
        return view

    def _known(self, res_name: str) -> WatcherView | None:
        """The watcher a topic's res_name (lower-case, `_` for spaces) stands for."""
        for name, view in self.watchers.items():
            if name.lower().replace(" ", "_") == res_name:
                return view
        return None

    def receive(self, frames: list[bytes]) -> None:
        topic = bytes(frames[0])
        if topic.startswith(OUTPUT_TOPIC_PREFIX.encode()):
            self._on_output(topic, frames)
        elif topic.startswith(TOPIC_PREFIX.encode()):
            self._on_event(frames)
        elif topic.startswith(STATS_TOPIC_PREFIX.encode()):
            self._on_stat(topic, frames)

    def _on_output(self, topic: bytes, frames: list[bytes]) -> None:
        res_name, stream = parse_output_topic(topic)
        payload = json.loads(bytes(frames[1]))
        view = self._known(res_name) or self._watcher(res_name)
        for line in payload["lines"]:
            view.output.append(
                {"pid": payload["pid"], "stream": stream, "line": line, "time": payload["time"]}
            )
        self.channel.publish(
            "output",
            {"d": self.index, "watcher": view.name, "stream": stream, **payload},
        )

    def _on_event(self, frames: list[bytes]) -> None:
        event = decode_event(frames)
        view = self._known(event.watcher)
        name = view.name if view is not None else event.watcher
        record = {"d": self.index, "watcher": name, "event": event.name, "payload": event.payload}
        self.events.append(record)
        if view is not None:
            pid = event.payload.get("process_pid")
            if event.name == "spawn" and isinstance(pid, int):
                proc = view.process(pid)
                proc.update(state="starting", wid=event.payload.get("wid"), started=event.payload.get("time"))
            elif event.name == "reap" and isinstance(pid, int):
                view.processes.pop(pid, None)
                view.process_history.pop(pid, None)
            elif event.name == "kill" and isinstance(pid, int) and pid in view.processes:
                view.processes[pid]["state"] = "stopping"
            elif event.name == "reload":
                view.reload = event.payload
            elif event.name == "updated":
                view.sockets = None  # `set cmd` may have changed them: read again
        self.channel.publish("event", record)
        # Any event may change a watcher's state or a process's readiness: one refresh per burst.
        self._status_soon()

    def _on_stat(self, topic: bytes, frames: list[bytes]) -> None:
        payload = json.loads(bytes(frames[1]))
        watcher, pid = parse_stat_topic(topic, self.watchers)
        if watcher == SOCKETS_TOPIC:
            if pid is not None:
                self._on_socket(pid, payload)
            return
        if watcher == CIRCUS_TOPIC:
            return
        view = self._known(watcher) or self.watchers.get(watcher)
        if view is None:
            return
        if pid is None:
            view.aggregate = payload
            return
        proc = view.processes.get(pid)
        if proc is None:  # reaped meanwhile, or not yet known: the daemon's list decides
            return
        for key in ("cpu", "mem", "rss_bytes", "age", "create_time", "cmdline", "children"):
            if key in payload:
                proc[key] = payload[key]

    def _on_socket(self, fd: int, payload: dict[str, Any]) -> None:
        """A listener's figures, plus `accepted_per_s` from the counter's change since the last one
        (the stream says how many in the last interval, not how long that was)."""
        now = self.clock()
        previous = self.sockets.get(fd)
        accepted = _number(payload.get("accepted"))
        if previous is not None and accepted is not None and _number(previous.get("accepted")) is not None:
            elapsed = now - previous["_at"]
            if elapsed > 0:
                payload["accepted_per_s"] = round(max(0.0, accepted - previous["accepted"]) / elapsed, 1)
        payload["_at"] = now
        self.sockets[fd] = payload

    def _sockets(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in s.items() if k != "_at"} for _, s in sorted(self.sockets.items())]

    # ----------------------------------------------------------------- the once-a-second picture

    def _tick(self) -> None:
        beats = 0
        while True:
            gevent.sleep(1.0 - self.clock() % 1.0)
            self.channel.publish("tick", self.tick(self.clock()))
            beats += 1
            # A daemon that went away says nothing: ask now and then, so the page shows it down (and
            # back up, with its watchers, when it returns).
            if beats % HEARTBEAT_TICKS == 0 and (self._status_due is None or self._status_due.dead):
                self._status_due = gevent.spawn(self._refresh_status_quietly, HEARTBEAT_TIMEOUT_S)

    def tick(self, now: float) -> dict[str, Any]:
        """Append a point to every chart and say what changed; one message for every browser."""
        watchers: dict[str, Any] = {}
        for name, view in self.watchers.items():
            agg = view.aggregate
            point = [round(now, 1), _number(agg.get("cpu_total")), _number(agg.get("rss_bytes"))]
            view.history.append(point)
            procs = []
            for pid, proc in view.processes.items():
                history = view.process_history.get(pid)
                if history is None:
                    history = view.process_history[pid] = deque(maxlen=PROCESS_HISTORY)
                history.append([point[0], _number(proc.get("cpu")), _number(proc.get("rss_bytes"))])
                procs.append(proc)
            watchers[name] = {
                "point": point,
                "aggregate": agg,
                "processes": procs,
                "sockets": view.sockets or [],
            }
        return {"d": self.index, "watchers": watchers, "sockets": self._sockets()}

    def snapshot(self) -> dict[str, Any]:
        return {
            "d": self.index,
            "endpoint": self.endpoint,
            "node": self.node,
            "connected": self.connected,
            "error": self.error,
            "watchers": {name: view.snapshot() for name, view in sorted(self.watchers.items())},
            "sockets": self._sockets(),
            "events": list(self.events),
        }

    def watcher_detail(self, name: str) -> dict[str, Any] | None:
        view = self.watchers.get(name)
        if view is None:
            return None
        return {
            "process_history": {str(pid): list(h) for pid, h in view.process_history.items()},
            "output": list(view.output),
        }
