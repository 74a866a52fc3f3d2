"""What circusd-stats knows without asking /proc: which pids belong to which watcher, and which stats
topics someone is subscribed to. Pure: listings, events and subscription messages in, sets out.

Rules: pids come from the daemon (`list`, then spawn/reap events); a periodic listing replaces what
events built, so a missed event heals at the next resync. The daemon's own helpers (circusd-stats,
circushttpd) are reported under `stat.circus`, as Circus does, not as watchers.
"""

from __future__ import annotations

from collections.abc import Iterable

from circus_web_stack.protocol.pubsub import Event, res_name
from circus_web_stack.protocol.stats import CIRCUS_TOPIC, SOCKETS_TOPIC, STATS_TOPIC_PREFIX

# Watchers whose processes are the daemon's helpers: they go to stat.circus.<pid> with this name.
HELPER_WATCHERS = ("circusd-stats", "circushttpd")


class ProcessTracker:
    def __init__(self) -> None:
        self.pids: dict[str, set[int]] = {}  # watcher name (as `list` gives it) -> pids
        self.helpers: dict[str, set[int]] = {name: set() for name in HELPER_WATCHERS}
        self._by_res_name: dict[str, str] = {}

    def watchers(self) -> list[str]:
        return sorted(self.pids)

    def set_watchers(self, names: Iterable[str]) -> list[str]:
        """The daemon's `list` reply. Returns every name to ask `list name=X` about (all of them: a
        resync replaces pids wholesale). Forgets watchers that are gone."""
        names = list(names)
        current = {n for n in names if n not in HELPER_WATCHERS}
        for gone in set(self.pids) - current:
            del self.pids[gone]
        for name in current:
            self.pids.setdefault(name, set())
        self._by_res_name = {res_name(n): n for n in names}
        return names

    def set_pids(self, watcher: str, pids: Iterable[int]) -> None:
        if watcher in self.helpers:
            self.helpers[watcher] = set(pids)
        elif watcher in self.pids:
            self.pids[watcher] = set(pids)

    def apply(self, event: Event) -> bool:
        """Apply one event; True when the event names a watcher we do not know (resync now)."""
        name = self._by_res_name.get(event.watcher)
        if event.name in ("add", "remove"):
            if event.name == "remove" and name is not None:
                self.pids.pop(name, None)
                self._by_res_name.pop(event.watcher, None)
            return event.name == "add"
        pid = event.payload.get("process_pid")
        if not isinstance(pid, int):
            return False
        if event.name == "spawn":
            if name is None:
                return True
            group = self.helpers.get(name)
            (group if group is not None else self.pids.setdefault(name, set())).add(pid)
        elif event.name == "reap":
            self.drop_pid(pid)
        return False

    def drop_pid(self, pid: int) -> None:
        for group in (*self.pids.values(), *self.helpers.values()):
            group.discard(pid)

    def all_pids(self) -> set[int]:
        return set().union(*self.pids.values()) if self.pids else set()


class Subscriptions:
    """The topics subscribers of an XPUB socket asked for, counted per subscriber (XPUB_VERBOSER
    passes every subscribe and unsubscribe, including those of a subscriber that went away)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def apply(self, message: bytes) -> None:
        """An XPUB subscription message: 1 (subscribe) or 0 (unsubscribe), then the topic prefix."""
        if not message:
            return
        topic = message[1:].decode("utf-8", "replace")
        if message[0] == 1:
            self._counts[topic] = self._counts.get(topic, 0) + 1
        elif message[0] == 0 and topic in self._counts:
            self._counts[topic] -= 1
            if self._counts[topic] <= 0:
                del self._counts[topic]

    def __bool__(self) -> bool:
        return bool(self._counts)

    def wants(self, group: str) -> bool:
        """Whether anyone would receive `stat.<group>` or `stat.<group>.<n>` messages."""
        topic = f"{STATS_TOPIC_PREFIX}{group}"
        return any(topic.startswith(p) or p.startswith(topic + ".") for p in self._counts)

    def asked_for(self, prefix: str) -> bool:
        """Whether a subscriber asked for `prefix` or a topic under it; a broader one ('') does not
        count (the event socket's `output.` lines go out only to those who asked for them)."""
        return any(p.startswith(prefix) for p in self._counts)

    def wants_circus(self) -> bool:
        return self.wants(CIRCUS_TOPIC)

    def wants_sockets(self) -> bool:
        return self.wants(SOCKETS_TOPIC)
