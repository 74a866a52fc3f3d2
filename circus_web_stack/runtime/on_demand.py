"""on_demand: a watcher that starts when a connection waits on one of the sockets it uses (the kernel
queues it meanwhile). One greenlet per socket, waiting on readability: no polling. Armed again
whenever the watcher stops, and after a reloadconfig rebinds its sockets.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import gevent

from circus_web_stack.core.states import DaemonState

if TYPE_CHECKING:
    from circus_web_stack.runtime.arbiter import Arbiter
    from circus_web_stack.runtime.watcher import Watcher

log = logging.getLogger("circus_web_stack.arbiter")


class OnDemandStarter:
    def __init__(self, arbiter: Arbiter) -> None:
        self.arbiter = arbiter
        self._waiters: dict[str, list[gevent.Greenlet]] = {}  # watcher -> its socket waiters

    def arm(self, watcher: Watcher) -> None:
        """Wait for a connection on `watcher`'s sockets, then start it (at once if it has none)."""
        arbiter = self.arbiter
        self.cancel(watcher.name)
        if not self._is_current(watcher):
            return  # removed (its stop announced "stop" before it left): nothing to wait for
        names = watcher.config.sockets_used(arbiter.sockets.fds())
        listeners = [arbiter.sockets.get(n) for n in names if arbiter.sockets.get(n) is not None]
        if not listeners:
            watcher.start()
            return
        log.info(
            "%s starts on demand, at the first connection to %s",
            watcher.name,
            ", ".join(b.address for b in listeners),
        )
        hub = gevent.get_hub()

        def wait_then_start(fd: int) -> None:
            io = hub.loop.io(fd, 1)
            try:
                hub.wait(io)
            finally:
                io.close()
            for other in self._waiters.pop(watcher.name, []):
                if other is not gevent.getcurrent():
                    other.kill(block=False)
            if watcher.at_rest and arbiter.state == DaemonState.RUNNING and self._is_current(watcher):
                log.info("%s: a connection is waiting; starting on demand", watcher.name)
                watcher.start()

        self._waiters[watcher.name] = [gevent.spawn(wait_then_start, b.fd) for b in listeners]

    def cancel(self, name: str) -> None:
        for waiter in self._waiters.pop(name, []):
            waiter.kill(block=False)

    def rearm_at_rest(self) -> None:
        """Every armed watcher still at rest waits again, on its sockets as they are now."""
        for watcher in self.arbiter.watchers:
            if watcher.name in self._waiters and watcher.at_rest:
                self.arm(watcher)

    def rearm_when_stopped(self, watcher_name: str, event: str, payload: dict[str, Any]) -> None:
        """An event listener: an on_demand watcher that stopped waits for the next connection again."""
        watcher = self.arbiter.find_watcher(watcher_name)
        if event == "stop" and watcher is not None and watcher.config.on_demand and not self.arbiter.stopping:
            gevent.spawn(self.arm, watcher)

    def _is_current(self, watcher: Watcher) -> bool:
        """Still this daemon's watcher: not removed, nor replaced by another of the same name."""
        return self.arbiter.find_watcher(watcher.name) is watcher and not watcher.removed
