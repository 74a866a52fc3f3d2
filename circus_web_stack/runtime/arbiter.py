"""The arbiter: the daemon's one gevent hub, its sockets, its watchers and its signals.

Its watchers are Circus's API (`watchers`, `get_watcher`, `add_watcher`, `rm_watcher`, ...). What
each signal does is runtime/signals.py's (handlers only enqueue; one greenlet acts, through the
methods that commands use). Starting the watchers runs in its own greenlet, so a SIGTERM that
arrives during a long start is honoured at once (circus#935). Starting on demand is
runtime/on_demand.py's; applying a changed config file, runtime/config_reload.py's.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import gevent
import gevent.event
import gevent.lock

from circus_web_stack.config.loader import load_config, parse_watcher
from circus_web_stack.config.model import Config, WatcherConfig
from circus_web_stack.core.errors import ClientError, ConfigError, Errno, WatcherNotFound
from circus_web_stack.core.notices import Added, Removed
from circus_web_stack.core.scale import start_order
from circus_web_stack.core.states import DAEMON_TRANSITIONS, DaemonMilestone, DaemonState, check_transition
from circus_web_stack.core.suggest import did_you_mean
from circus_web_stack.protocol.pubsub import notice_payload
from circus_web_stack.runtime.config_reload import apply_config_file
from circus_web_stack.runtime.leftovers import stop_left_behind
from circus_web_stack.runtime.on_demand import OnDemandStarter
from circus_web_stack.runtime.readiness import NotifyServer
from circus_web_stack.runtime.sampling import Sampler
from circus_web_stack.runtime.signals import handle_signals
from circus_web_stack.runtime.socket_activation import open_sockets
from circus_web_stack.runtime.socket_idle import IdleSockets
from circus_web_stack.runtime.sockets import SocketSet
from circus_web_stack.runtime.watcher import Watcher

log = logging.getLogger("circus_web_stack.arbiter")

EventListener = Callable[[str, str, dict[str, Any]], None]
NotifyListener = Callable[[int, dict[str, str]], None]  # (sender pid, fields) of a NOTIFY_SOCKET datagram
MilestoneListener = Callable[[DaemonMilestone], None]


class Extension(Protocol):
    """Something that lives as long as the daemon runs: the control server, the event publisher."""

    def start(self, arbiter: Arbiter) -> None: ...

    def stop(self) -> None: ...


class Arbiter:
    def __init__(self, config: Config, *, extensions: Iterable[Extension] = ()) -> None:
        self.config = config
        self.sockets = SocketSet()
        self.state = DaemonState.STARTING
        self.started_at = time.time()
        self.on_demand = OnDemandStarter(self)
        self.idle_sockets = IdleSockets(self)  # a socket nobody serves stops listening
        self.event_listeners: list[EventListener] = [
            self.on_demand.rearm_when_stopped,
            self.idle_sockets.on_event,
        ]
        self.milestone_listeners: list[MilestoneListener] = [self.idle_sockets.on_milestone]
        self.notify_listeners: list[NotifyListener] = []  # every datagram, READY=1 or not
        self.exit_code = 0  # what circusd exits with; request_exit sets it
        # (watcher name, stream) -> what the pump writes to: the output tap's wrapper, set by the
        # runtime.output_tap extension while it runs (the console's live tail); None: the stream itself.
        self.tap_output: Callable[[str, Any], Any] | None = None
        # add, rm and reloadconfig change the set of watchers one at a time (other commands go on)
        self._changing_watchers = gevent.lock.RLock()
        self.extensions: list[Extension] = list(extensions)
        self._stopped = gevent.event.Event()
        self._startup: gevent.Greenlet | None = None
        self._stopping: gevent.Greenlet | None = None
        self._fast = False  # a fast stop was asked for: every group still to stop stops fast
        self._notify: NotifyServer | None = None
        self.sampler = Sampler()
        # The endpoints actually bound (defaults resolved), for `globaloptions`.
        self.endpoints: dict[str, str] = {}
        # By name, in the order added. Building the watchers resolves their hooks: a bad hook path fails
        # here, before anything starts.
        self._watchers: dict[str, Watcher] = {}
        for wcfg in config.watchers:
            self._watchers[wcfg.name] = self._make_watcher(wcfg)

    @classmethod
    def from_file(cls, path: str, **kwargs: Any) -> Arbiter:
        return cls(load_config(path), **kwargs)

    def __repr__(self) -> str:
        return f"<Arbiter {self.state.value} {len(self._watchers)} watcher(s)>"

    # ----------------------------------------------------------------- lookups (Circus's API)

    @property
    def watchers(self) -> list[Watcher]:
        """Circus's `arbiter.watchers`: the Watcher objects, in the order they were added (a copy:
        add_watcher and rm_watcher change the set)."""
        return list(self._watchers.values())

    def numwatchers(self) -> int:
        return len(self._watchers)

    def numprocesses(self) -> int:
        """The processes running across every watcher (Circus's meaning, not the desired counts)."""
        return sum(len(w) for w in self._watchers.values())

    def statuses(self) -> dict[str, str]:
        """Each watcher's Circus status word (active, stopped, ...), by name."""
        return {w.name: w.status() for w in self._watchers.values()}

    def iter_watchers(self, reverse: bool = True) -> list[Watcher]:
        """Circus's order: by priority, highest first (reverse=False: lowest first); by name within
        one priority."""
        by_name = sorted(self._watchers.values(), key=lambda w: w.name)
        return sorted(by_name, key=lambda w: w.priority, reverse=reverse)

    def find_watcher(self, name: str) -> Watcher | None:
        """The watcher called `name` (case-insensitive), or None."""
        return self._watchers.get(name) or next(
            (w for w in self._watchers.values() if w.name.lower() == name.lower()), None
        )

    def _make_watcher(self, wcfg: WatcherConfig) -> Watcher:
        return Watcher.from_config(
            wcfg,
            sockets=self.sockets,
            arbiter=self,
            emit=self._emit,
            notify_socket=self._notify.address if self._notify else None,
        )

    @property
    def stop_under_way(self) -> bool:
        """A stop has begun (a second SIGINT or SIGTERM then makes it fast)."""
        return self._stopping is not None

    @property
    def stopping(self) -> bool:
        """The daemon is on its way out: nothing may start any more."""
        return self.state in (DaemonState.STOPPING, DaemonState.STOPPED)

    def get_watcher(self, name: str) -> Watcher:
        """The watcher called `name` (case-insensitive); else Circus's "program NAME not found",
        with the nearest watcher name suggested."""
        watcher = self.find_watcher(name)
        if watcher is None:
            hint = did_you_mean(name, list(self._watchers))
            raise WatcherNotFound(f"program {name} not found{hint}")
        return watcher

    def global_options(self) -> dict[str, Any]:
        daemon = self.config.daemon
        return {
            "endpoint": self.endpoints.get("control", daemon.endpoint),
            "pubsub_endpoint": self.endpoints.get("pubsub", daemon.pubsub_endpoint),
            "stats_endpoint": self.endpoints.get("stats", daemon.stats_endpoint),
            "check_delay": daemon.check_delay,
            "multicast_endpoint": daemon.multicast_endpoint,
        }

    def _emit(self, watcher: str, event: str, payload: dict[str, Any]) -> None:
        for listener in list(self.event_listeners):
            listener(watcher, event, payload)

    def _on_notify(self, pid: int, fields: dict[str, str]) -> None:
        for listener in list(self.notify_listeners):
            listener(pid, fields)
        if fields.get("READY") != "1":
            return
        for watcher in self._watchers.values():
            if watcher.report_ready(pid):
                return
        # A wrapper (sh -c, a launcher) may notify from a child of the process we spawned.
        import psutil

        with contextlib.suppress(psutil.Error):
            for parent in psutil.Process(pid).parents():
                for watcher in self._watchers.values():
                    if watcher.report_ready(parent.pid):
                        return
        log.debug("READY=1 from pid %d, which is none of ours", pid)

    # ----------------------------------------------------------------- life cycle

    def _set_state(self, new: DaemonState) -> None:
        check_transition(DAEMON_TRANSITIONS, self.state, new, "daemon")
        self.state = new

    def open(self) -> None:
        """Bind every socket (all or nothing; those systemd passed are adopted) and start the notify
        socket and the extensions, without starting any watcher. Raises SocketBindError with every
        failing address."""
        for bound in open_sockets(self.config.sockets):
            self.sockets.add(bound)
        self._notify = NotifyServer(self._on_notify)
        self._notify.start()
        for watcher in self._watchers.values():
            watcher.notify_socket = self._notify.address
        for ext in self.extensions:
            ext.start(self)
        handle_signals(self)

    def start(self) -> None:
        """Run until stopped (a signal, `quit`, or `stop()` from another greenlet)."""
        self.run_in_background()
        self._stopped.wait()

    def run_in_background(self) -> None:
        """Open, then start the autostart watchers in a greenlet; returns at once."""
        self.open()
        self._set_state(DaemonState.RUNNING)
        log.info("circusd running with %d watcher(s) and %d socket(s)", self.numwatchers(), len(self.sockets))
        self._startup = gevent.spawn(self._start_autostart_watchers)

    def _start_autostart_watchers(self) -> None:
        self.start_watchers()
        self._announce(DaemonMilestone.WATCHERS_STARTED)

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def start_watchers(self, names: Iterable[str] | None = None) -> dict[str, dict[str, list[int]]]:
        """Start the named watchers, or every autostart one, in priority order (higher first)."""
        if names is None:
            chosen = [w for w in self._watchers.values() if w.config.autostart]
        else:
            chosen = [self.get_watcher(n) for n in names]
        results = {}
        order = start_order((w.name, w.priority) for w in chosen)
        for i, name in enumerate(order):
            watcher = self._watchers.get(name)
            if watcher is None:  # removed meanwhile (during a warmup_delay)
                continue
            if names is None and watcher.config.on_demand and watcher.config.use_sockets:
                self.on_demand.arm(watcher)
                continue
            try:
                results[name] = watcher.start()
            except (ClientError, ConfigError) as exc:
                # One watcher that cannot start (a bad stream path, a failing hook) must not keep the
                # others from starting.
                log.error("%s could not start: %s", name, exc)
                results[name] = {"error": str(exc)}
            if self.config.daemon.warmup_delay > 0 and i < len(order) - 1:
                gevent.sleep(self.config.daemon.warmup_delay)
        return results

    def stop_watchers(self, names: Iterable[str] | None = None, *, fast: bool = False) -> dict[str, Any]:
        """Stop in reverse priority; watchers of equal priority stop together."""
        chosen = list(self._watchers.values()) if names is None else [self.get_watcher(n) for n in names]
        results: dict[str, Any] = {}
        by_priority: dict[int, list[Watcher]] = {}
        for w in chosen:
            by_priority.setdefault(w.priority, []).append(w)
        for priority in sorted(by_priority):
            group = by_priority[priority]
            jobs = {w.name: gevent.spawn(w.stop, fast=fast or self._fast) for w in group}
            gevent.joinall(list(jobs.values()))
            for name, job in jobs.items():
                results[name] = job.value if job.successful() else {"error": str(job.exception)}
        return results

    def stop(self, *, fast: bool = False) -> None:
        """Graceful stop of everything, then release the sockets. Idempotent; a fast stop may overtake
        a graceful one already under way."""
        if self.state == DaemonState.STOPPED:
            return
        if fast:
            self._fast = True
            for watcher in self._watchers.values():
                watcher.hurry_stopping()
        if self._stopping is not None:
            self._stopped.wait()
            return
        self._stopping = gevent.getcurrent()
        if self.state == DaemonState.STARTING or self.state == DaemonState.RUNNING:
            self._set_state(DaemonState.STOPPING)
            self._announce(DaemonMilestone.STOPPING)
        log.info("stopping every watcher (%s)", "fast" if fast else "graceful")
        if self._startup is not None:
            self._startup.kill()
        try:
            self.stop_watchers(fast=fast)
            # Anything started meanwhile (a command that raced the stop) is stopped too.
            stragglers = [w.name for w in self._watchers.values() if w.processes]
            if stragglers:
                log.warning("stopping watchers started during the shutdown: %s", ", ".join(stragglers))
                self.stop_watchers(stragglers, fast=True)
            stop_left_behind([g for w in self._watchers.values() for g in w.left_groups], fast=self._fast)
        finally:
            for ext in reversed(self.extensions):
                try:
                    ext.stop()
                except Exception:
                    log.exception("stopping %r failed", ext)
            if self._notify is not None:
                self._notify.close()
            self.sockets.close_all()
            self._set_state(DaemonState.STOPPED)
            log.info("circusd stopped")
            self._stopped.set()

    def reopen_logs(self) -> None:
        for watcher in self._watchers.values():
            watcher.reopen_streams()
        for handler in logging.getLogger().handlers:
            reopen = getattr(handler, "reopenIfNeeded", None)
            if reopen is not None:
                reopen()

    # ----------------------------------------------------------------- supervisors (systemd, containers)

    def _announce(self, milestone: DaemonMilestone) -> None:
        """Tell the milestone listeners (sd_notify); a failing one must not stop the daemon's work."""
        for listener in list(self.milestone_listeners):
            try:
                listener(milestone)
            except Exception:
                log.exception("announcing %s failed", milestone)

    def request_exit(self, code: int) -> None:
        """Stop gracefully, then have circusd exit with `code` (exit_on_failure); the first code wins."""
        if self.stopping:
            return
        self.exit_code = code
        gevent.spawn(self.stop)

    # ----------------------------------------------------------------- runtime changes

    def add_watcher(self, name: str, cmd: str, **options: Any) -> Watcher:
        """Circus's `add_watcher(name, cmd, **options)`: a new watcher with any watcher option by
        keyword (validated as the ini's are: ConfigError naming the option), not started; call its
        `start()`. A name in use (case-insensitive) is a ClientError."""
        options["cmd"] = cmd
        wcfg = parse_watcher(name, options, source=f"add_watcher({name!r})", sockets=list(self.sockets.fds()))
        return self.add_watcher_config(wcfg)

    def add_watcher_config(self, wcfg: WatcherConfig, *, start: bool = False) -> Watcher:
        """A watcher for a validated config (the `add` command, reloadconfig, helper watchers)."""
        with self._changing_watchers:
            if self.find_watcher(wcfg.name) is not None:
                raise ClientError(f"a watcher named {wcfg.name!r} already exists", Errno.MESSAGE_ERROR)
            watcher = self._make_watcher(wcfg)
            self._watchers[wcfg.name] = watcher
            self._emit(wcfg.name, Added.event, notice_payload(Added(), time.time()))
        if start and wcfg.on_demand and wcfg.use_sockets:
            self.on_demand.arm(watcher)
        elif start:
            watcher.start()
        return watcher

    def rm_watcher(self, name: str, *, nostop: bool = False) -> None:
        """Circus's `rm_watcher`: stop the watcher (unless nostop) and forget it."""
        with self._changing_watchers:
            watcher = self.get_watcher(name)  # under the lock: a command before may have removed it
            self.on_demand.cancel(watcher.name)
            watcher.remove(nostop=nostop)
            del self._watchers[watcher.name]
            self._emit(watcher.name, Removed.event, notice_payload(Removed(), time.time()))

    def reload(self, *, graceful: bool = True, sequential: bool = False) -> dict[str, Any]:
        self.reopen_logs()
        results = {}
        for name in start_order((w.name, w.priority) for w in self._watchers.values()):
            watcher = self._watchers.get(name)
            if watcher is None or watcher.removed:  # an rm meanwhile
                continue
            try:
                results[name] = watcher.reload(graceful=graceful, sequential=sequential)
            except ClientError:
                if not watcher.removed:
                    raise
        return results

    def restart(self) -> dict[str, Any]:
        """Every watcher stopped, then started; the sockets stay bound, so nothing is refused (Circus
        closed and rebound them)."""
        with self.idle_sockets.held():
            stopped = self.stop_watchers()
            started = self.start_watchers()
        return {"stopped": stopped, "started": started}

    def reload_config(self, path: str | None = None) -> dict[str, list[str]]:
        """Re-read the config and apply only the difference. An invalid file, or a socket that cannot
        be bound, changes nothing. A changed socket is bound anew before the watchers using it are
        rolled onto it, and the old one is closed only after that. Unchanged watchers keep their
        processes."""
        with self._changing_watchers:
            self._announce(DaemonMilestone.RELOADING)
            try:
                return apply_config_file(self, path)
            finally:
                self._announce(DaemonMilestone.RELOADED)
