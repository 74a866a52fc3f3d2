"""circusd-stats' loop: learn the daemon's processes and sockets, sample them every interval, publish
Circus's stat topics (plus our numbers) on an XPUB socket.

Rules: one thread, no gevent; nothing on the loop blocks longer than a sample. Only what someone is
subscribed to is sampled (XPUB tells us who listens), so an unwatched circusd-stats costs nothing.
Pids come from `list` and the event stream; a resync every RESYNC_S heals a missed event, and a pid
that /proc no longer has is dropped at once. The caches forget dead processes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import zmq

from circus_web_stack.protocol.pubsub import decode_event
from circus_web_stack.protocol.stats import (
    CIRCUS_TOPIC,
    ProcessSample,
    aggregate,
    aggregate_totals,
    process_info,
    process_stat_payload,
    reads_of,
    socket_stat_payload,
    socket_stat_topic,
    sockets_aggregate,
    stat_topic,
)
from circus_web_stack.runtime.endpoints import CurveKeys, bind_endpoint, unlink_ipc
from circus_web_stack.runtime.sampling import Sampler
from circus_web_stack.runtime.stats.sockdiag import Listener, ListenerProbe
from circus_web_stack.runtime.stats.tracking import ProcessTracker, Subscriptions

log = logging.getLogger("circus_web_stack.stats")

RESYNC_S = 10.0
# After a failed resync (the daemon busy or restarting), try again this soon.
RETRY_S = 2.0

# One encoder for every message: json.dumps(allow_nan=False) would build a new one per call.
_JSON = json.JSONEncoder(allow_nan=False)

Call = Callable[..., dict]  # call(command, **properties) -> the reply's dict; raises on no reply


class DaemonGone(Exception):
    """The daemon circusd-stats reports on died and no daemon answers at its endpoint."""


class StatsStreamer:
    """`call` talks to the daemon's control endpoint (the CLI passes a CircusClient's call_ok)."""

    def __init__(
        self,
        call: Call,
        pubsub_endpoint: str,
        stats_endpoint: str,
        *,
        interval_s: float = 1.0,
        resync_s: float = RESYNC_S,
        curve: Any = None,  # (server public, server secret, client public, client secret) or None
        context: zmq.Context | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"the stats interval must be positive, not {interval_s}")
        self.call = call
        self.interval_s = interval_s
        self.resync_s = resync_s
        self.tracker = ProcessTracker()
        self.subscriptions = Subscriptions()
        self.sampler = Sampler(keep_open=True)
        self.daemon_pid: int | None = None
        self.probe: ListenerProbe | None = None
        self._listeners: list[Listener] = []
        self._resync_at = 0.0
        self._poller: zmq.Poller | None = None  # rebuilt when the listeners (and their notice fd) change
        self._ctx = context or zmq.Context.instance()
        self._pub = self._ctx.socket(zmq.XPUB)
        self._pub.linger = 0
        self._pub.setsockopt(zmq.XPUB_VERBOSER, 1)
        self._events = self._ctx.socket(zmq.SUB)
        self._events.linger = 0
        self._events.ipv6 = True
        server_keys = None
        if curve is not None:
            server_public, server_secret, client_public, client_secret = curve
            server_keys = CurveKeys(public=server_public, secret=server_secret)
            self._events.curve_serverkey = server_public
            self._events.curve_publickey = client_public
            self._events.curve_secretkey = client_secret
        self._events.setsockopt(zmq.SUBSCRIBE, b"watcher.")
        self._events.connect(pubsub_endpoint)
        self.stats_endpoint = stats_endpoint
        try:
            # As the daemon binds its own: 0600 ipc socket in a 0700 directory, a live one refused.
            bind_endpoint(self._pub, stats_endpoint, server_keys)
        except BaseException:
            self._pub.close(linger=0)
            self._events.close(linger=0)
            raise

    def close(self) -> None:
        self.sampler.close()
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        self._pub.close(linger=0)
        self._events.close(linger=0)
        unlink_ipc(self.stats_endpoint)

    # ----------------------------------------------------------------- the loop

    def run(self, *, until: Callable[[], bool] = lambda: False) -> None:
        """Loop until `until()` is true (checked at least every interval), DaemonGone, or an exception
        (the CLI turns SIGTERM into SystemExit) ends it."""
        next_tick = time.monotonic() + self.interval_s
        while not until():
            if time.monotonic() >= self._resync_at:
                self.resync()
            self.step(max(0.0, min(next_tick, self._resync_at) - time.monotonic()))
            if time.monotonic() >= next_tick:
                if self.daemon_pid is not None and not os.path.exists(f"/proc/{self.daemon_pid}"):
                    self._resync_at = 0.0  # circusd died: a resync finds a new one or ends us
                self.publish_once()
                next_tick += self.interval_s
                if next_tick <= time.monotonic():  # a slow sample: skip, never pile up
                    next_tick = time.monotonic() + self.interval_s

    def step(self, wait_s: float) -> None:
        """Wait up to `wait_s` for subscriptions, events and socket notices, and take them."""
        notices = self.probe.fileno() if self.probe is not None else None
        if self._poller is None:
            self._poller = zmq.Poller()
            self._poller.register(self._pub, zmq.POLLIN)
            self._poller.register(self._events, zmq.POLLIN)
            if notices is not None:
                self._poller.register(notices, zmq.POLLIN)
        ready = dict(self._poller.poll(int(wait_s * 1000) + 1))
        if self._pub in ready:
            self._take_subscriptions()
        if self._events in ready:
            self._take_events()
        if notices is not None and notices in ready and self.probe is not None:
            self.probe.drain()

    def _take_subscriptions(self) -> None:
        became_wanted = False
        while True:
            try:
                message = self._pub.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            was = bool(self.subscriptions)
            self.subscriptions.apply(message)
            became_wanted |= not was and bool(self.subscriptions)
        if became_wanted:
            # Prime the CPU baselines now, so the first figures published cover one interval.
            self.sampler.read(self._wanted_pids(), with_children=False)

    def _take_events(self) -> None:
        while True:
            try:
                frames = self._events.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                event = decode_event(frames)
            except ValueError:
                continue
            if self.tracker.apply(event):
                self._resync_at = 0.0
            if event.name == "reap":
                pid = event.payload.get("process_pid")
                if isinstance(pid, int):
                    self.sampler.forget([pid])

    # ----------------------------------------------------------------- learning from the daemon

    def resync(self) -> bool:
        """Ask the daemon for its watchers, pids, own pid and sockets. False if it did not answer."""
        try:
            names = self.tracker.set_watchers(self.call("list")["watchers"])
            for name in names:
                self.tracker.set_pids(name, self.call("list", name=name).get("pids", []))
            self.daemon_pid = int(self.call("dstats")["info"]["pid"])
            sockets = self.call("listsockets").get("sockets", [])
        except Exception as exc:  # no reply, an error reply: keep what we know, try again soon
            log.warning("cannot resync with circusd: %s; retrying in %gs", exc, RETRY_S)
            self._resync_at = time.monotonic() + RETRY_S
            self._exit_if_daemon_gone()
            return False
        self._set_listeners([Listener.from_info(s) for s in sockets])
        self.sampler.refresh_boot_time()
        self._resync_at = time.monotonic() + self.resync_s
        return True

    def _exit_if_daemon_gone(self) -> None:
        if self.daemon_pid is not None and not os.path.exists(f"/proc/{self.daemon_pid}"):
            raise DaemonGone(f"circusd (pid {self.daemon_pid}) is gone; circusd-stats exits")

    def _set_listeners(self, listeners: list[Listener]) -> None:
        if listeners == self._listeners and (self.probe is not None or not listeners):
            return
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        self._poller = None
        self._listeners = listeners
        if listeners:
            try:
                self.probe = ListenerProbe(listeners)
            except OSError as exc:
                log.warning("socket figures unavailable (sock_diag netlink: %s)", exc)

    # ----------------------------------------------------------------- sampling and publishing

    def _wanted_pids(self) -> list[int]:
        return [p for w, group in self.tracker.pids.items() if self.subscriptions.wants(w) for p in group]

    def publish_once(self) -> int:
        """Sample what is subscribed to and publish it; returns how many messages went out."""
        wanted = self.subscriptions
        if not wanted:
            return 0
        sent = 0
        watchers = [w for w in self.tracker.watchers() if wanted.wants(w)]
        pids = [p for w in watchers for p in self.tracker.pids[w]]
        samples = self.sampler.read(pids) if pids else {}
        now = time.time()
        for watcher in watchers:
            infos = []
            for pid in sorted(self.tracker.pids[watcher]):
                sample = samples.get(pid)
                if sample is None or sample.create_time is None:
                    self.tracker.drop_pid(pid)  # gone: its reap is on its way or was missed
                    continue
                info = process_info(sample, now=now)
                infos.append(info)
                sent += self._send(stat_topic(watcher, pid), process_stat_payload(info))
            sent += self._send(stat_topic(watcher), {**aggregate(infos), **aggregate_totals(infos)})
        if self.probe is not None and wanted.wants_sockets():
            sent += self._publish_sockets()
        if wanted.wants_circus():
            sent += self._publish_circus(now)
        return sent

    def _publish_sockets(self) -> int:
        assert self.probe is not None
        try:
            figures = self.probe.figures()
        except OSError as exc:
            log.warning("reading socket figures failed: %s", exc)
            return 0
        payloads = []
        for lst in self.probe.listeners:
            fig = figures[lst.fd]
            payloads.append(
                socket_stat_payload(lst.fd, lst.address, reads_of(fig), name=lst.name, figures=fig)
            )
        sent = sum(self._send(socket_stat_topic(p["fd"]), p) for p in payloads)
        return sent + self._send(socket_stat_topic(), sockets_aggregate(payloads))

    def _publish_circus(self, now: float) -> int:
        named: dict[int, str] = {os.getpid(): "circusd-stats"}
        for helper, group in self.tracker.helpers.items():
            for pid in group:
                named.setdefault(pid, helper)
        if self.daemon_pid is not None:
            named[self.daemon_pid] = "circusd"
        # Without children: circusd's children are every worker, already published above.
        samples: dict[int, ProcessSample] = self.sampler.read(list(named), with_children=False)
        infos = []
        sent = 0
        for pid, name in named.items():
            if samples[pid].create_time is None:
                continue
            info = process_info(samples[pid], now=now)
            infos.append(info)
            sent += self._send(stat_topic(CIRCUS_TOPIC, pid), process_stat_payload(info, name=name))
        return sent + self._send(stat_topic(CIRCUS_TOPIC), {**aggregate(infos), **aggregate_totals(infos)})

    def _send(self, topic: str, payload: dict) -> int:
        try:
            self._pub.send_multipart(
                [topic.encode("utf-8"), _JSON.encode(payload).encode("utf-8")], zmq.NOBLOCK
            )
        except zmq.Again:  # a slow subscriber past its high-water mark loses messages, not us time
            return 0
        return 1
