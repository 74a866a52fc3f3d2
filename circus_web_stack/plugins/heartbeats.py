"""WatchDog's bookkeeping: which pids are watched, when each was last heard of, which are silent past
their grace. Pure: the times are passed in.

Rules: a pid is watched from its spawn (or the first discovery) until its reap or kill, or its
watcher's stop; its grace is loop_rate x max_count seconds after the last heartbeat (or the start
of watching). Heartbeats are bytes on the wire and decoded as UTF-8 before msg_regex reads them
(Circus matched a str pattern against bytes: circus#945). A silent pid is reported once: it leaves
the watched set when it is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Watched:
    watcher: str
    last_heard_s: float


@dataclass(frozen=True)
class Silent:
    pid: int
    watcher: str
    silent_for_s: float


@dataclass
class Heartbeats:
    grace_s: float
    pids: dict[int, Watched] = field(default_factory=dict)

    def watch(self, watcher: str, pid: int, now_s: float) -> None:
        self.pids[pid] = Watched(watcher, now_s)

    def forget(self, pid: int) -> Watched | None:
        return self.pids.pop(pid, None)

    def forget_watcher(self, watcher: str) -> None:
        for pid in [p for p, w in self.pids.items() if w.watcher == watcher]:
            del self.pids[pid]

    def heard(self, pid: int, now_s: float) -> bool:
        """A heartbeat from `pid`; False when it is no watched pid."""
        watched = self.pids.get(pid)
        if watched is None:
            return False
        watched.last_heard_s = now_s
        return True

    def take_silent(self, now_s: float) -> list[Silent]:
        """The pids silent past the grace, removed from the watched set."""
        silent = [
            Silent(pid, w.watcher, now_s - w.last_heard_s)
            for pid, w in self.pids.items()
            if now_s - w.last_heard_s > self.grace_s
        ]
        for item in silent:
            del self.pids[item.pid]
        return silent


def heartbeat_pid(message: bytes, pattern: re.Pattern[str]) -> int | None:
    """The pid a heartbeat datagram names (msg_regex's `pid` group), or None when it names none."""
    text = message.decode("utf-8", "replace").strip()
    match = pattern.match(text)
    if match is None or "pid" not in match.groupdict():
        return None
    try:
        return int(match["pid"].strip())
    except (TypeError, ValueError):
        return None


__all__ = ["Heartbeats", "Silent", "Watched", "heartbeat_pid"]
