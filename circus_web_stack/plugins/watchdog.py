"""WatchDog: processes send UDP heartbeats (`pid;timestamp` by default); one silent for loop_rate x
max_count seconds is killed (`kill`: watchers_stop_signal or its stop signal, then SIGKILL after
watchers_graceful_timeout or its graceful_timeout) and its watcher replaces it. The reason is logged
(the plugin's stderr goes to circusd's, and to `output.plugin:<name>.stderr` subscribers) and the
kill is published as the watcher's `kill` event.

Fixed from Circus: heartbeats are decoded before matching (circus#945, closed unfixed: every
datagram raised TypeError), a datagram that does not match is logged instead of raising, the watched
set is not changed while it is iterated, and kills and watcher stops forget their pids (Circus only
forgot reaped ones, and reap is not published for every exit there). `port = 0` takes a free port,
logged at start.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from circus_web_stack.config.declaration import option
from circus_web_stack.config.kinds import Int, InvalidValue, Kind, Maybe, Seconds, Text, quoted
from circus_web_stack.config.os_kinds import Signal
from circus_web_stack.plugins.base import CircusPlugin
from circus_web_stack.plugins.heartbeats import Heartbeats, heartbeat_pid
from circus_web_stack.plugins.ioloop import READ, PeriodicCallback

log = logging.getLogger("circus_web_stack.plugins.watchdog")


class Regex(Kind):
    label = "a regular expression"

    def parse(self, raw: Any) -> str:
        text = str(raw)
        try:
            re.compile(text)
        except re.error as exc:
            raise InvalidValue(f"{quoted(raw)} is not a regular expression ({exc})") from None
        return text


@dataclass(frozen=True)
class WatchDogOptions:
    loop_rate: float = option(Seconds(positive=True), 60.0, "seconds between two looks for silent processes")
    watchers_regex: str = option(Regex(), ".*", "the watchers looked after (re.match on the name)")
    msg_regex: str = option(
        Regex(), "^(?P<pid>.*);(?P<timestamp>.*)$", "how a heartbeat reads; its `pid` group names the sender"
    )
    max_count: int = option(Int(1), 3, "looks without a heartbeat before a process is killed")
    ip: str = option(Text(), "127.0.0.1", "address the heartbeats are received on")
    port: int = option(Int(0, 65535), 1664, "UDP port of the heartbeats (0: any free port, logged)")
    watchers_stop_signal: int | None = option(
        Maybe(Signal()), None, "signal to kill with (default: the watcher's stop_signal)"
    )
    watchers_graceful_timeout: float | None = option(
        Maybe(Seconds(0)), None, "seconds before SIGKILL (default: the watcher's graceful_timeout)"
    )

    def check(self) -> None:
        if "(?P<pid>" not in self.msg_regex:
            raise InvalidValue("msg_regex needs a (?P<pid>...) group: it names the sender", key="msg_regex")


class WatchDog(CircusPlugin):
    name = "watchdog"
    options_model: ClassVar[type] = WatchDogOptions
    options: WatchDogOptions

    def __init__(self, *args: Any, **config: Any) -> None:
        super().__init__(*args, **config)
        self.loop_rate = self.options.loop_rate
        self.max_count = self.options.max_count
        self.watchers_regex = re.compile(self.options.watchers_regex)
        self.msg_regex = re.compile(self.options.msg_regex)
        self.heartbeats = Heartbeats(grace_s=self.loop_rate * self.max_count)
        self.period = PeriodicCallback(self.look_after, self.loop_rate * 1000, self.loop)
        self.sock: socket.socket | None = None
        self.starting = True

    def handle_init(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.options.ip, self.options.port))
        self.sock.setblocking(False)
        ip, port = self.sock.getsockname()[:2]
        log.info("watchdog listening for UDP heartbeats on %s:%d", ip, port)
        self.loop.add_handler(self.sock.fileno(), self.receive_udp_socket, READ)
        self.period.start()

    def handle_stop(self) -> None:
        self.period.stop()
        if self.sock is not None:
            self.loop.remove_handler(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def _watched(self, watcher: str) -> bool:
        return not watcher.startswith("plugin:") and self.watchers_regex.match(watcher) is not None

    def handle_recv(self, data: Any) -> None:
        watcher, action, msg = self.split_data(data)
        if not self._watched(watcher):
            return
        if action == "stop":
            self.heartbeats.forget_watcher(watcher)
            return
        if action not in ("spawn", "reap", "kill"):
            return
        pid = self.load_message(msg).get("process_pid")
        if not isinstance(pid, int):
            return
        if action == "spawn":
            self.heartbeats.watch(watcher, pid, time.monotonic())
        else:
            self.heartbeats.forget(pid)

    def _discover(self) -> None:
        """The pids already running when the plugin starts (later ones come as spawn events)."""
        listed = self.call("list")
        for watcher in listed.get("watchers", []):
            if self._watched(watcher):
                for pid in self.call("list", name=watcher).get("pids", []):
                    if pid not in self.heartbeats.pids:
                        self.heartbeats.watch(watcher, int(pid), time.monotonic())

    def receive_udp_socket(self, fd: int, events: int) -> None:
        assert self.sock is not None
        while True:
            try:
                data, sender = self.sock.recvfrom(1024)
            except BlockingIOError:
                return
            pid = heartbeat_pid(data, self.msg_regex)
            if pid is None:
                log.warning(
                    "heartbeat from %s names no pid (msg_regex %s): %r", sender, self.msg_regex.pattern, data
                )
            elif not self.heartbeats.heard(pid, time.monotonic()):
                log.debug("heartbeat from pid %d, which is not watched", pid)

    def look_after(self) -> None:
        if self.starting:
            self._discover()
            self.starting = False
        for silent in self.heartbeats.take_silent(time.monotonic()):
            log.warning(
                "%s pid=%d sent no heartbeat for %.1fs (loop_rate %gs x max_count %d): killing it",
                silent.watcher,
                silent.pid,
                silent.silent_for_s,
                self.loop_rate,
                self.max_count,
            )
            props: dict[str, Any] = {"name": silent.watcher, "pid": silent.pid}
            if self.options.watchers_stop_signal is not None:
                props["signum"] = self.options.watchers_stop_signal
            if self.options.watchers_graceful_timeout is not None:
                props["graceful_timeout"] = self.options.watchers_graceful_timeout
            self.cast("kill", **props)


__all__ = ["WatchDog", "WatchDogOptions"]
