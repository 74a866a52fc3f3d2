"""The arbiter's part of core/socket_idle.py's rule: a socket nobody serves stops listening.

It reviews the sockets whenever a watcher announces that its phase may have changed (an event
listener), after the autostart watchers were started and after a reloadconfig (milestones), and
when a watcher begins a start (its PrepareStart, before any spawn: `listen_for`). Each change is
logged once. While the arbiter restarts every watcher (`held`), nothing stops listening.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from circus_web_stack.config.model import SocketConfig
from circus_web_stack.core.notices import EventName
from circus_web_stack.core.socket_idle import SocketFacts, WatcherFacts, plan_listening
from circus_web_stack.core.states import DaemonMilestone
from circus_web_stack.runtime.sockets import BoundSocket, connection_oriented, listen_again, stop_listening

if TYPE_CHECKING:
    from circus_web_stack.runtime.arbiter import Arbiter
    from circus_web_stack.runtime.watcher import Watcher

log = logging.getLogger("circus_web_stack.sockets")

# The events that follow a change of phase (a spawn, a reap or a kill never ends or begins one).
_PHASE_EVENTS = frozenset(
    {EventName.START, EventName.STOP, EventName.FLAPPING, EventName.ADD, EventName.REMOVE, EventName.UPDATED}
)
_MILESTONES = frozenset({DaemonMilestone.WATCHERS_STARTED, DaemonMilestone.RELOADED})


class IdleSockets:
    def __init__(self, arbiter: Arbiter) -> None:
        self.arbiter = arbiter
        # Held until the autostart watchers have started: the first to start (circusd-stats, by
        # priority) must not close the sockets of those whose turn has not come.
        self._holds = 1
        self._released = False

    def on_event(self, watcher: str, event: str, payload: dict[str, Any]) -> None:
        if event in _PHASE_EVENTS:
            self.review()

    def on_milestone(self, milestone: DaemonMilestone) -> None:
        if milestone == DaemonMilestone.WATCHERS_STARTED and self._holds > 0 and not self._released:
            self._released = True
            self._holds -= 1
        if milestone in _MILESTONES:
            self.review()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Nothing stops listening meanwhile (every watcher stopped, then started: `restart`)."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            self.review()

    def listen_for(self, watcher: Watcher) -> str | None:
        """`watcher` is starting: its sockets listen again. The problem, if one cannot."""
        problems = self.review()
        mine = watcher.config.sockets_used(self.arbiter.sockets.fds())
        return "; ".join(text for name, text in problems.items() if name in mine) or None

    def review(self) -> dict[str, str]:
        """Apply the rule to every socket; the sockets that could not listen again, with why."""
        sockets = self.arbiter.sockets
        # Each bound socket with its config (a reloadconfig removing one forgets its config first).
        configured = {b.name: (b, cfg) for b in sockets if (cfg := self.arbiter.config.socket(b.name))}
        facts = [_facts(bound, cfg) for bound, cfg in configured.values()]
        users = [
            WatcherFacts(w.name, w.state, w.config.sockets_used(sockets.fds()), w.config.on_demand)
            for w in self.arbiter.watchers
        ]
        problems: dict[str, str] = {}
        for change in plan_listening(facts, users):
            bound, cfg = configured[change.socket]
            if not change.listen:
                if self._holds == 0:
                    stop_listening(bound)
                    log.info("socket %s %s stops listening: %s", bound.name, bound.address, change.reason)
                continue
            try:
                listen_again(bound, cfg)
            except OSError as exc:
                problems[bound.name] = (
                    f"socket {bound.name} cannot listen again on {bound.address}: {exc.strerror or exc}"
                )
                log.error("%s", problems[bound.name])
                continue
            log.info(
                "socket %s %s listens again (fd %d): %s", bound.name, bound.address, bound.fd, change.reason
            )
        return problems


def _facts(bound: BoundSocket, cfg: SocketConfig) -> SocketFacts:
    return SocketFacts(
        bound.name,
        bound.listening,
        close_when_idle=cfg.close_when_idle,
        from_systemd=bound.adopted,
        connection_oriented=connection_oriented(bound.sock.type),
    )
