"""circus-top's model: what the stats stream said and when (TopState), and what the user chose to
see (View, changed by keys).

Rule: pure functions of the messages received, the keys and the clock; tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from circus_web_stack.protocol.stats import CIRCUS_TOPIC, SOCKETS_TOPIC, STATS_TOPIC_PREFIX

SORT_KEYS = ("cpu", "mem")


@dataclass
class WatcherView:
    totals: dict = field(default_factory=dict)
    processes: dict[int, tuple[dict, float]] = field(default_factory=dict)  # pid -> (info, received)


@dataclass
class TopState:
    watchers: dict[str, WatcherView] = field(default_factory=dict)
    circus: dict[int, tuple[dict, float]] = field(default_factory=dict)
    sockets: dict[int, tuple[dict, float]] = field(default_factory=dict)
    first_message_at: float | None = None
    last_message_at: float | None = None
    last_sample_at: float | None = None
    interval_s: float | None = None  # measured between two completed samples

    def apply(self, topic: str, payload: dict, now: float) -> bool:
        """Take one message; True when it completes a sample (the `stat.circus` totals come last)."""
        if not topic.startswith(STATS_TOPIC_PREFIX) or not isinstance(payload, dict):
            return False
        self.first_message_at = self.first_message_at or now
        self.last_message_at = now
        rest = topic[len(STATS_TOPIC_PREFIX) :]
        sub = payload.get("subtopic")
        if sub is not None:  # one process or one socket: the topic ends in ".<subtopic>"
            group = rest.removesuffix(f".{sub}")
            if group == SOCKETS_TOPIC:
                self.sockets[int(sub)] = (payload, now)
            elif group == CIRCUS_TOPIC:
                self.circus[int(sub)] = (payload, now)
            else:
                self.watchers.setdefault(group, WatcherView()).processes[int(sub)] = (payload, now)
            return False
        if rest == CIRCUS_TOPIC:
            if self.last_sample_at is not None:
                measured = now - self.last_sample_at
                self.interval_s = (
                    measured if self.interval_s is None else 0.7 * self.interval_s + 0.3 * measured
                )
            self.last_sample_at = now
            return True
        if rest != SOCKETS_TOPIC:
            self.watchers.setdefault(rest, WatcherView()).totals = payload
        return False

    def expire(self, now: float, timeout_s: float) -> None:
        """Forget processes, sockets and watchers the stream has not mentioned for `timeout_s`."""
        for table in (self.circus, self.sockets, *(w.processes for w in self.watchers.values())):
            for key in [k for k, (_, at) in table.items() if now - at > timeout_s]:
                del table[key]
        for name in [n for n, w in self.watchers.items() if not w.processes and not w.totals.get("pid")]:
            del self.watchers[name]


# A fleet's states by node name; one daemon is the fleet of one node "" (no node column then).
States = Mapping[str, TopState]


def as_states(state: TopState | States) -> States:
    return {"": state} if isinstance(state, TopState) else state


def _cycle(current: str | None, names: list[str]) -> str | None:
    """all -> first -> ... -> last -> all."""
    if not names:
        return None
    if current not in names:
        return names[0]
    i = names.index(current)
    return names[i + 1] if i + 1 < len(names) else None


@dataclass(frozen=True)
class View:
    sort: str = "cpu"
    watcher: str | None = None  # None: every watcher
    node: str | None = None  # None: every node of the fleet

    def next_watcher(self, names: list[str]) -> View:
        return replace(self, watcher=_cycle(self.watcher, names))

    def next_node(self, names: list[str]) -> View:
        return replace(self, node=_cycle(self.node, names))


def handle_key(key: str, view: View, state: TopState | States) -> View | None:
    """The view after a key; None means quit. `n` cycles the fleet's nodes, `a` shows all again."""
    states = as_states(state)
    if key in ("q", "Q", "\x03"):
        return None
    if key == "c":
        return replace(view, sort="cpu")
    if key == "m":
        return replace(view, sort="mem")
    if key == "w":
        return view.next_watcher(sorted({w for s in states.values() for w in s.watchers}))
    if key == "n":
        return view.next_node(sorted(n for n in states if n))
    if key == "a":
        return replace(view, watcher=None, node=None)
    return view
