"""A watcher: one program's processes, kept at the desired state on the daemon's gevent hub.

This is the facade: the commands (serialised by the watcher's own lock, never waiting for another
watcher's work) and what status, stats and the arbiter read. Each command becomes one event for the
driver (driver.py), which asks core.watcher_fsm what to do and hands the effects to the executor
(executor.py). `stop` takes no lock: it overtakes a start or a reload under way, which then fail
saying they were interrupted.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent.lock

from circus_web_stack.config.loader import parse_watcher, set_watcher_option
from circus_web_stack.config.model import WatcherConfig
from circus_web_stack.config.options import needs_reload
from circus_web_stack.core.errors import ClientError, Errno
from circus_web_stack.core.events import (
    HurryRequested,
    KillRequested,
    ProcessReady,
    ReloadRequested,
    RemoveRequested,
    RestartRequested,
    ScaleRequested,
    SettingsChanged,
    StartRequested,
    StopRequested,
)
from circus_web_stack.core.leftovers import LeftGroup
from circus_web_stack.core.notices import Notice, Updated
from circus_web_stack.core.states import AT_REST_PHASES, LIVE_PROCESS_STATES, WatcherPhase
from circus_web_stack.core.watcher_model import WatcherModel
from circus_web_stack.protocol.pubsub import notice_payload
from circus_web_stack.runtime.hooks import HookRunner
from circus_web_stack.runtime.process import Process
from circus_web_stack.runtime.sockets import SocketSet
from circus_web_stack.runtime.streams.base import Stream
from circus_web_stack.runtime.system import REAL_SYSTEM, System
from circus_web_stack.runtime.watcher.driver import Driver
from circus_web_stack.runtime.watcher.executor import Executor
from circus_web_stack.runtime.watcher.settings import lifecycle_settings
from circus_web_stack.runtime.watcher.spawning import SpawnSpecBuilder
from circus_web_stack.runtime.watcher.streams import WatcherStreams, open_configured_streams, streams_changed

if TYPE_CHECKING:
    from circus_web_stack.runtime.arbiter import Arbiter, EventListener

log = logging.getLogger("circus_web_stack.watcher")


@dataclass
class _Replaced:
    """What a config change replaced, put back if its reload rolls back."""

    config: WatcherConfig
    hooks: HookRunner
    stream_names: tuple[str, ...]
    streams: dict[str, Stream] = field(default_factory=dict)  # the old stream of each name that had one


class Watcher:
    """Usable on its own (on a gevent hub) or under an Arbiter, which passes sockets and the event sink."""

    def __init__(
        self,
        name: str,
        cmd: str,
        args: str | list[str] | None = None,
        numprocesses: int = 1,
        prereload_fn: Callable[[Watcher], object] | None = None,
        loop: object = None,
        **options: Any,
    ) -> None:
        """Circus's signature: `Watcher("web", "python app.py", numprocesses=2, warmup_delay=1, ...)`
        with any of Circus's watcher options by keyword, validated as the ini's are (ConfigError
        naming the option). `prereload_fn(watcher)` runs before each reload, as in Circus; `loop` is
        accepted and unused (the watcher runs on the gevent hub of the thread that starts it)."""
        given = {"cmd": cmd, "numprocesses": numprocesses, **options}
        if args is not None:
            given["args"] = args
        config = parse_watcher(name, given, source=f"Watcher({name!r})")
        self._attach(config, None, None, None, None, REAL_SYSTEM)
        self.prereload_fn = prereload_fn

    @classmethod
    def from_config(
        cls,
        config: WatcherConfig,
        *,
        sockets: SocketSet | None = None,
        arbiter: Arbiter | None = None,
        emit: EventListener | None = None,
        notify_socket: str | None = None,
        system: System = REAL_SYSTEM,
    ) -> Watcher:
        """A watcher for a validated config; under an Arbiter, which passes sockets and the event sink."""
        watcher = cls.__new__(cls)
        watcher._attach(config, sockets, arbiter, emit, notify_socket, system)
        watcher.prereload_fn = None
        return watcher

    def _attach(
        self,
        config: WatcherConfig,
        sockets: SocketSet | None,
        arbiter: Arbiter | None,
        emit: EventListener | None,
        notify_socket: str | None,
        system: System,
    ) -> None:
        """What both constructors share; from_config's keywords are the one place they are named."""
        self.config = config
        self.system = system
        self.sockets = sockets
        self.arbiter = arbiter
        self._emit_fn = emit
        self.processes: dict[int, Process] = {}
        # Groups its exited processes left members in: stopped when circusd stops (runtime/leftovers.py).
        self.left_groups: list[LeftGroup] = []
        self.streams = WatcherStreams()
        self.spec_builder = SpawnSpecBuilder(config.name, sockets)
        self.spec_builder.notify_socket = notify_socket
        self._hooks = HookRunner(dict(config.hooks))
        self._command_lock = gevent.lock.RLock()
        self._stop_lock = gevent.lock.RLock()
        self._replaced: _Replaced | None = None
        self.model = WatcherModel(config.name, lifecycle_settings(config, system))
        self.driver = Driver(self.model, system.monotonic)
        self.executor = Executor(self, self.driver.submit, self.driver.answer)
        self.driver.run_effect = self.executor.run

    # ----------------------------------------------------------------- introspection

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def notify_socket(self) -> str | None:
        return self.spec_builder.notify_socket

    @notify_socket.setter
    def notify_socket(self, address: str | None) -> None:
        self.spec_builder.notify_socket = address

    @property
    def numprocesses(self) -> int:
        """The target; len(watcher) is how many processes are live."""
        return self.config.numprocesses

    @property
    def priority(self) -> int:
        return self.config.priority

    @property
    def state(self) -> WatcherPhase:
        """The phase (`.value` reads "stopped", "running", "rolling", ...); `status()` is Circus's word."""
        return self.model.phase

    def status(self) -> str:
        """Circus's word for the phase (or `failing`, for a crash loop), as the `status` command answers;
        a method, as in Circus."""
        return self.model.status()

    @property
    def at_rest(self) -> bool:
        """Stopped, by a command or by giving up: nothing runs, a start may begin."""
        return self.model.phase in AT_REST_PHASES

    @property
    def removed(self) -> bool:
        """Removed by rm or reloadconfig: every later command is refused."""
        return self.model.phase == WatcherPhase.REMOVED

    def __len__(self) -> int:
        return sum(1 for r in self.model.processes.values() if r.state in LIVE_PROCESS_STATES)

    def __repr__(self) -> str:
        return f"<Watcher {self.name} {self.model.phase.value} {len(self)}/{self.numprocesses}>"

    def option_values(self) -> dict[str, Any]:
        """Every option by Circus's name, as `options` and `get` report them."""
        return self.config.option_values()

    def pids(self) -> list[int]:
        return sorted(self.processes)

    def live_processes(self) -> list[Process]:
        live = [r.pid for r in self.model.processes.values() if r.state in LIVE_PROCESS_STATES]
        return sorted((self.processes[pid] for pid in live if pid in self.processes), key=lambda p: p.wid)

    def run_extended_stats_hook(self, pid: int, info: dict[str, Any]) -> None:
        self.run_hook("extended_stats", pid=pid, stats=info)

    # ----------------------------------------------------------------- commands

    def start(self) -> dict[str, list[int]]:
        with self._commanding():
            if self.arbiter is not None and self.arbiter.stopping:
                raise ClientError(f"{self.name}: circusd is stopping; not starting", Errno.COMMAND_ERROR)
            return self.driver.call(StartRequested)

    def stop(self, *, fast: bool = False) -> dict[str, list[int]]:
        with self._stop_lock:
            self._refuse_if_removed()
            return self.driver.call(lambda command: StopRequested(command, fast=fast))

    def restart(self) -> dict[str, list[int]]:
        with self._commanding():
            return self.driver.call(RestartRequested)

    def reload(self, *, graceful: bool = True, sequential: bool = False) -> dict[str, list[int]]:
        """Replace every process with a new one, ready before replaced. Circus's meanings are kept:
        graceful=False is a restart, send_hup sends SIGHUP instead."""
        with self._commanding():
            if self.prereload_fn is not None:
                self.prereload_fn(self)
            return self.driver.call(
                lambda command: ReloadRequested(command, sequential=sequential, restart=not graceful)
            )

    def incr(self, nb: int = 1) -> int:
        with self._commanding():
            return self._scale(self.numprocesses + nb)

    def decr(self, nb: int = 1) -> int:
        with self._commanding():
            return self._scale(max(0, self.numprocesses - nb))

    def set_numprocesses(self, count: int) -> int:
        with self._commanding():
            return self._scale(count)

    def _scale(self, count: int) -> int:
        result = self.driver.call(lambda command: ScaleRequested(command, count))
        self.config = set_watcher_option(self.config, "numprocesses", result["numprocesses"])
        return result["numprocesses"]

    def wait_settled(self, timeout_s: float) -> bool:
        """Wait until every process is ready and none is starting or stopping (after incr, decr, set
        numprocesses), at most `timeout_s`. Holds no lock: other commands go on meanwhile."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.model.settled():
                return True
            gevent.sleep(0.02)
        return False

    def set_options(self, options: dict[str, Any]) -> bool:
        """Apply option changes (the `set` command). Returns True when the processes were reloaded."""
        with self._commanding():
            new = self.config
            for key, value in options.items():
                new = set_watcher_option(new, key, value)
            return self._apply_config(new)

    def update_config(self, new: WatcherConfig, *, force_reload: bool = False) -> bool:
        """Adopt a new WatcherConfig (reloadconfig): reload the processes if something they were
        started with changed, or if `force_reload` (a socket they use was bound anew). Returns True
        when they were reloaded; raises ClientError, with the old config back, if that reload failed."""
        with self._commanding():
            if force_reload and new == self.config and not self.at_rest:
                self.driver.call(lambda command: ReloadRequested(command, config_change=True))
                return True
            return self._apply_config(new, force_reload=force_reload)

    def send_signal(
        self, signum: int, *, pid: int | None = None, children: bool = False, recursive: bool = False
    ) -> list[int]:
        targets = [self._process(pid)] if pid is not None else self.live_processes()
        for proc in targets:
            proc.send_signal(signum, children=children, recursive=recursive)
        return [p.pid for p in targets]

    def kill(
        self, *, pid: int | None = None, signum: int | None = None, graceful_timeout: float | None = None
    ) -> list[int]:
        """Stop one process (or all) with the stop signal and SIGKILL after graceful_timeout; the
        watcher replaces them as usual."""
        with self._commanding():
            targets = [self._process(pid)] if pid is not None else self.live_processes()
            pids = tuple(p.pid for p in targets)
            self.driver.call(lambda command: KillRequested(command, pids, signum, graceful_timeout))
            return list(pids)

    def remove(self, *, nostop: bool = False) -> None:
        """Stop the processes (or, with `nostop`, forget them: `rm --nostop`) and refuse every later
        command: one that was waiting for this watcher's lock (an `incr` queued behind the stop)
        must not start processes nobody supervises."""
        with self._commanding():
            self.driver.call(lambda command: RemoveRequested(command, nostop=nostop))
            self.executor.cancel_all_timers()

    def hurry_stopping(self) -> None:
        """A fast stop: every process already on its way out gets SIGKILL after FAST_STOP_S. Takes no
        lock, so it overtakes a command that holds this watcher's lock."""
        self.driver.submit(HurryRequested())

    def report_ready(self, pid: int) -> bool:
        """READY=1 from `pid` (from the notify socket). False if it is not one of ours."""
        if pid not in self.processes:
            return False
        self.driver.submit(ProcessReady(pid))
        return True

    def reopen_streams(self) -> None:
        self.streams.reopen()

    # ----------------------------------------------------------------- for the executor

    def publish(self, notice: Notice) -> None:
        if self._emit_fn is None:
            return
        try:
            self._emit_fn(self.name, notice.event.value, notice_payload(notice, time.time()))
        except Exception:  # an event sink must never break supervision
            log.exception("%s: publishing %s failed", self.name, notice.event.value)

    def tapped(self, stream: Stream) -> Any:
        """`stream` behind the arbiter's output tap (runtime/output_tap.py), when it has one."""
        tap = self.arbiter.tap_output if self.arbiter is not None else None
        return tap(self.name, stream) if tap is not None else stream

    def run_hook(self, hook: str, **kwargs: Any) -> bool:
        return self._hooks.run(hook, self, self.arbiter, self.publish, **kwargs)

    def restore_replaced(self) -> None:
        replaced, self._replaced = self._replaced, None
        if replaced is None:
            return
        self.config = replaced.config
        self._hooks = replaced.hooks
        self.streams.close_when_unused(self.streams.swap(replaced.stream_names, replaced.streams))

    def release_replaced(self) -> None:
        replaced, self._replaced = self._replaced, None
        if replaced is not None:
            self.streams.close_when_unused(replaced.streams)

    # ----------------------------------------------------------------- internals

    @contextlib.contextmanager
    def _commanding(self) -> Iterator[None]:
        """One command at a time on this watcher, and none once it has been removed."""
        with self._command_lock:
            self._refuse_if_removed()
            yield

    def _refuse_if_removed(self) -> None:
        if self.removed:
            raise ClientError(f"program {self.name} was removed", Errno.MESSAGE_ERROR)

    def _process(self, pid: int) -> Process:
        proc = self.processes.get(pid)
        if proc is None:
            raise ClientError(f"process {pid} not found in watcher {self.name!r}")
        return proc

    def _apply_config(self, new: WatcherConfig, *, force_reload: bool = False) -> bool:
        old = self.config
        before = old.option_values()
        changed = [k for k, v in new.option_values().items() if before.get(k) != v]
        if not changed:
            return False
        hooks = (
            HookRunner(dict(new.hooks)) if new.hooks != old.hooks else self._hooks
        )  # may fail: nothing changed
        replaced = _Replaced(old, self._hooks, streams_changed(old, new))
        fresh = None
        if replaced.stream_names and not self.at_rest:
            # One that cannot open changes nothing. Only the changed ones: two objects rotating one
            # file (max_bytes, timed rotation) would each count and rotate on their own.
            fresh = open_configured_streams(new, replaced.stream_names)
        self._hooks = hooks
        self.config = new
        for key in changed:
            self.publish(Updated(key=key))
        settings = lifecycle_settings(new, self.system)
        reload = not self.at_rest and (force_reload or any(needs_reload(k) for k in changed))
        if not reload:
            self.driver.call(lambda command: SettingsChanged(command, settings))
            if fresh is not None:
                self.streams.close_when_unused(self.streams.swap(replaced.stream_names, fresh))
            return False
        # New processes write to the new streams; the ones they replace keep theirs until they exit.
        if fresh is not None:
            replaced.streams = self.streams.swap(replaced.stream_names, fresh)
        self._replaced = replaced
        self.driver.call(lambda command: ReloadRequested(command, settings=settings, config_change=True))
        return True
