"""`exit_on_failure`: when a named watcher fails for good, circusd stops and exits with its code.

In a container, a program that cannot run should end the container, so that its restart policy (or
Kubernetes' backoff) takes over and the failure shows in `docker ps` / `kubectl get pods`: supervisord
declined this and always exits 0 (supervisor#712, #1685). Rule: decided from the arbiter's event
stream alone (the last unexpected `reap` of each watcher gives the code, the `flapping` event that
gave up is the trigger), never by reaching into a watcher.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable
from typing import Any

from circus_web_stack.core.exits import daemon_exit_code
from circus_web_stack.protocol.pubsub import EventName, res_name

log = logging.getLogger("circus_web_stack.exit_on_failure")


class ExitOnFailure:
    """An arbiter extension; `patterns` are watcher names or globs (`*`), matched case-insensitively
    against the event's watcher (Circus's res_name form)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(res_name(p) for p in patterns)
        self._last_failure: dict[str, int] = {}
        self._arbiter: Any = None

    def start(self, arbiter: Any) -> None:
        self._arbiter = arbiter
        arbiter.event_listeners.append(self.on_event)

    def matches(self, watcher: str) -> bool:
        return any(fnmatch.fnmatchcase(res_name(watcher), p) for p in self.patterns)

    def on_event(self, watcher: str, event: str, payload: dict[str, Any]) -> None:
        if not self.matches(watcher):
            return
        if event == EventName.REAP and not payload.get("expected"):
            self._last_failure[watcher] = payload["exit_code"]
        elif event == EventName.FLAPPING and payload.get("gave_up"):
            code = daemon_exit_code(self._last_failure.get(watcher))
            log.error(
                "%s failed for good (exit_on_failure): stopping circusd, which exits with code %d",
                watcher,
                code,
            )
            self._arbiter.request_exit(code)

    def stop(self) -> None:
        if self._arbiter is not None and self.on_event in self._arbiter.event_listeners:
            self._arbiter.event_listeners.remove(self.on_event)
