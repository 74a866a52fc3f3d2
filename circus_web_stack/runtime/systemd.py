"""sd_notify for circusd itself, when systemd runs it as Type=notify (or notify-reload).

READY=1 once the autostart watchers are up and ready (core.health decides, as /readyz does; at most
the longest ready_timeout after they started), RELOADING=1 then READY=1 around every reloadconfig
(SIGHUP included), STOPPING=1 when the stop begins, WATCHDOG=1 every half WATCHDOG_USEC from a
greenlet (so it stops when the hub stops answering, which is what the watchdog is for), and a STATUS=
line for `systemctl status`, refreshed when it changes. Rule: NOTIFY_SOCKET is read once and removed
from the environment, so workers notify circusd (their own NOTIFY_SOCKET), never systemd.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import MutableMapping
from typing import Any

import gevent

from circus_web_stack.core.health import status_line
from circus_web_stack.core.states import DaemonMilestone
from circus_web_stack.runtime.health import readiness_of, watcher_health

log = logging.getLogger("circus_web_stack.systemd")

READY_POLL_S = 0.05  # readiness has no event of its own: it is read this often until READY=1
STATUS_REFRESH_S = 2.0


def watchdog_interval(env: MutableMapping[str, str], pid: int) -> float | None:
    """Seconds between two WATCHDOG=1 (half the timeout, as sd_watchdog_enabled(3) advises), or None
    when the watchdog is off or meant for another process."""
    usec = env.pop("WATCHDOG_USEC", "")
    owner = env.pop("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (owner and owner != str(pid)):
        return None
    return int(usec) / 1e6 / 2


class SystemdNotifier:
    """An arbiter extension; build it with `from_environment`, which returns None outside systemd."""

    def __init__(self, address: str, *, watchdog_s: float | None = None) -> None:
        self.address = address
        self.watchdog_s = watchdog_s
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._arbiter: Any = None
        self._greenlets: list[gevent.Greenlet] = []
        self._last_status = ""
        self._reloading = False
        self.ready_sent = False

    @classmethod
    def from_environment(cls) -> SystemdNotifier | None:
        env = os.environ
        address = env.pop("NOTIFY_SOCKET", "")
        watchdog_s = watchdog_interval(env, os.getpid())
        return cls(address, watchdog_s=watchdog_s) if address else None

    def notify(self, **fields: str) -> None:
        """One datagram, e.g. notify(READY="1", STATUS="..."); a lost one is logged, never fatal."""
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            self._sock.sendto(message, target)
        except OSError as exc:
            log.warning("sd_notify to %s failed: %s", self.address, exc)

    def start(self, arbiter: Any) -> None:
        self._arbiter = arbiter
        arbiter.milestone_listeners.append(self.on_milestone)
        self._set_status("starting the watchers")
        self._greenlets.append(gevent.spawn(self._refresh_status))
        if self.watchdog_s is not None:
            self._greenlets.append(gevent.spawn(self._keep_watchdog))
            log.info("systemd watchdog: WATCHDOG=1 every %gs", self.watchdog_s)

    def on_milestone(self, milestone: DaemonMilestone) -> None:
        if milestone == DaemonMilestone.WATCHERS_STARTED:
            self._greenlets.append(gevent.spawn(self._ready_when_ready))
        elif milestone == DaemonMilestone.RELOADING:
            self._reloading = True
            monotonic_usec = str(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)
            self.notify(RELOADING="1", MONOTONIC_USEC=monotonic_usec, STATUS="reloading the configuration")
        elif milestone == DaemonMilestone.RELOADED:
            self._reloading = False
            self._last_status = self._status()
            self.notify(READY="1", STATUS=self._last_status)
        elif milestone == DaemonMilestone.STOPPING:
            self._last_status = "stopping every watcher"
            self.notify(STOPPING="1", STATUS=self._last_status)

    def _ready_when_ready(self) -> None:
        longest = max((w.config.ready_timeout for w in self._arbiter.iter_watchers()), default=0.0)
        deadline = time.monotonic() + longest
        while not self._arbiter.stopping:
            verdict = readiness_of(self._arbiter)
            if verdict.ok or time.monotonic() >= deadline:
                if not verdict.ok:
                    log.warning("READY=1 to systemd although not ready: %s", "; ".join(verdict.reasons))
                self._last_status = self._status()
                self.notify(READY="1", STATUS=self._last_status)
                self.ready_sent = True
                log.info("told systemd READY=1: %s", self._last_status)
                return
            gevent.sleep(READY_POLL_S)

    def _status(self) -> str:
        return status_line(self._arbiter.state, watcher_health(self._arbiter))

    def _set_status(self, text: str) -> None:
        if text != self._last_status:
            self._last_status = text
            self.notify(STATUS=text)

    def _refresh_status(self) -> None:
        while True:
            gevent.sleep(STATUS_REFRESH_S)
            if self.ready_sent and not self._reloading and not self._arbiter.stopping:
                self._set_status(self._status())

    def _keep_watchdog(self) -> None:
        assert self.watchdog_s is not None
        while True:
            self.notify(WATCHDOG="1")
            gevent.sleep(self.watchdog_s)

    def stop(self) -> None:
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        if self._arbiter is not None and self.on_milestone in self._arbiter.milestone_listeners:
            self._arbiter.milestone_listeners.remove(self.on_milestone)
        with contextlib.suppress(OSError):
            self._sock.close()
