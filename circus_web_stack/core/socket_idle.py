"""Which sockets listen: a socket nobody serves refuses connections instead of queueing them.

The rule, per socket: it stops listening when every watcher that uses it is at rest (stopped, given
up) or removed, and none of them is on_demand (a connection is how those start). Any other phase
(starting, running, rolling, paused by flapping, stopping) keeps it listening, so restarts, reloads,
scaling and respawns never refuse a connection. It is left as it is when no watcher uses it, when
systemd passed it (systemd's to manage), when its `close_when_idle` is off (then it always listens),
and when it is not connection-oriented (a datagram socket has no backlog to refuse). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from circus_web_stack.core.states import AT_REST_PHASES, WatcherPhase

# Phases in which a watcher has no process and none will come without a command.
IDLE_PHASES = AT_REST_PHASES | {WatcherPhase.REMOVED}


@dataclass(frozen=True)
class SocketFacts:
    name: str
    listening: bool
    close_when_idle: bool = True
    from_systemd: bool = False
    connection_oriented: bool = True  # SOCK_STREAM or SOCK_SEQPACKET


@dataclass(frozen=True)
class WatcherFacts:
    name: str
    phase: WatcherPhase
    sockets: frozenset[str]  # the sockets it uses (WatcherConfig.sockets_used)
    on_demand: bool = False


@dataclass(frozen=True)
class SocketChange:
    """`socket` must stop listening (listen False) or listen again (True); `reason` says why."""

    socket: str
    listen: bool
    reason: str


def plan_listening(sockets: Iterable[SocketFacts], watchers: Iterable[WatcherFacts]) -> list[SocketChange]:
    """The changes that make every socket follow the rule, in the sockets' order."""
    watchers = list(watchers)
    changes = []
    for sock in sockets:
        if sock.from_systemd or not sock.connection_oriented:
            continue
        users = [w for w in watchers if sock.name in w.sockets]
        want = _wanted(sock, users)
        if want is None or want == sock.listening:
            continue
        changes.append(SocketChange(sock.name, want, _reason(want, sock, users)))
    return changes


def _wanted(sock: SocketFacts, users: list[WatcherFacts]) -> bool | None:
    if not sock.close_when_idle:
        return True
    if not users:
        return None
    return any(w.on_demand or w.phase not in IDLE_PHASES for w in users)


def _reason(listen: bool, sock: SocketFacts, users: list[WatcherFacts]) -> str:
    if not sock.close_when_idle:
        return "close_when_idle is off"
    if not listen:
        return "no watcher of it is running (" + ", ".join(f"{w.name} {w.phase.value}" for w in users) + ")"
    serving = [w for w in users if w.on_demand or w.phase not in IDLE_PHASES]
    return ", ".join(f"{w.name} {'on demand' if w.phase in IDLE_PHASES else w.phase.value}" for w in serving)
