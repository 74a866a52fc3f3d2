"""A watcher: one program's processes, kept at the desired state on the daemon's gevent hub.

Decisions come from core.watcher_plan; this module executes them. Commands on one watcher are
serialised by its own lock and never wait for another watcher's work. `_reconcile` never yields, so
it is atomic with respect to every other greenlet: it may run from a command, an exit, a readiness
report or a timer without any of them seeing a half-applied plan.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import gevent
import gevent.event
import gevent.lock

from circus_web_stack.config.loader import parse_watcher, set_watcher_option
from circus_web_stack.config.options import needs_reload
from circus_web_stack.config.substitution import substitute
from circus_web_stack.core.effects import (
    GiveUpWatcher,
    PauseWatcher,
    RetireProcess,
    SpawnProcesses,
    StopProcess,
)
from circus_web_stack.core.errors import ClientError, Errno
from circus_web_stack.core.events import describe_exit, signal_name
from circus_web_stack.core.restart_plan import plan_rolling_step, plan_sequential_step
from circus_web_stack.core.states import (
    LIVE_PROCESS_STATES,
    WATCHER_TRANSITIONS,
    ProcessState,
    WatcherState,
    check_transition,
)
from circus_web_stack.core.watcher_plan import (
    FlappingTracker,
    expiry_deadline,
    next_recycle_at,
    next_wid,
    plan_recycle,
    plan_scale,
)
from circus_web_stack.protocol.pubsub import (
    flapping_payload,
    kill_payload,
    reap_payload,
    reload_payload,
    spawn_payload,
    start_payload,
    stop_payload,
    updated_payload,
)
from circus_web_stack.runtime import priority, spawner, streams
from circus_web_stack.runtime.hooks import HookRunner
from circus_web_stack.runtime.process import Process
from circus_web_stack.runtime.tail import TailTap

log = logging.getLogger("circus_web_stack.watcher")


def stderr_tail_suffix(proc: Process) -> str:
    """'; its last stderr lines: a | b' (or nothing), to say why a process failed."""
    tail = proc.last_stderr_lines()
    return "; its last stderr lines: " + " | ".join(tail) if tail else ""


# How long a SIGKILLed process may take to disappear before we say so (a process in D state can't die).
KILL_WAIT_S = 10.0
# A fast stop (SIGQUIT) gives each process this long after its stop signal before SIGKILL.
FAST_STOP_S = 1.0

EmitFn = Callable[[str, str, dict[str, Any]], None]


def _no_emit(watcher: str, event: str, payload: dict[str, Any]) -> None:
    return None


STREAM_NAMES = ("stdout", "stderr")


def _open_configured_streams(config: Any, names: Iterable[str]) -> dict[str, Any]:
    """The streams `config` names among `names`, opened; if one cannot be, none is left open."""
    opened: dict[str, Any] = {}
    try:
        for name in names:
            spec = getattr(config, f"{name}_stream")
            if spec is not None:
                opened[name] = streams.open_stream(
                    spec.class_name, dict(spec.options), option_prefix=f"{name}_stream"
                )
    except BaseException:
        for stream in opened.values():
            with contextlib.suppress(Exception):
                stream.close()
        raise
    if "stderr" in names and "stderr" not in opened and not config.close_child_stderr:
        opened["stderr"] = streams.InheritedStderr()
    return opened


def _streams_changed(old: Any, new: Any) -> tuple[str, ...]:
    """The names of the streams `new` opens differently from `old`."""
    changed = [n for n in STREAM_NAMES if getattr(new, f"{n}_stream") != getattr(old, f"{n}_stream")]
    if "stderr" not in changed and new.close_child_stderr != old.close_child_stderr:
        changed.append("stderr")
    return tuple(changed)


@dataclass
class _Replaced:
    """What a config change replaced, put back if its reload rolls back."""

    config: Any
    flapping: FlappingTracker
    stream_names: tuple[str, ...]
    streams: dict[str, Any] = field(default_factory=dict)  # the old stream of each name that had one


class Watcher:
    """Usable on its own (on a gevent hub) or under an Arbiter, which passes sockets and the event sink."""

    def __init__(
        self,
        config: Any,  # config.model.WatcherConfig
        *,
        sockets: Any = None,  # runtime.sockets.SocketSet
        arbiter: Any = None,
        emit: EmitFn | None = None,
        notify_socket: str | None = None,
    ) -> None:
        self.config = config
        self.sockets = sockets
        self.arbiter = arbiter
        self._emit_fn = emit or _no_emit
        self.notify_socket = notify_socket
        self.state = WatcherState.STOPPED
        self.processes: dict[int, Process] = {}
        self._hooks = HookRunner(dict(config.hooks))
        self._command_lock = gevent.lock.RLock()
        self._removed = False  # by rm or reloadconfig: a command still holding this object fails
        self._flapping = self._new_flapping_tracker()
        self._paused_until_s: float | None = None
        self._spawner: gevent.Greenlet | None = None
        self._timers: dict[str, gevent.Greenlet] = {}
        self._streams: dict[str, Any] = {}
        self._pumps: dict[gevent.Greenlet, Any] = {}  # each pump and the stream it writes to
        self._retired_streams: set[Any] = set()  # replaced, closed once their last pump ends
        self._variables_cache: tuple[Any, dict[str, str]] | None = None
        self._generation = 0
        # A rolling reload owns the process set while it runs: the reconciler stays out of its way.
        self._rolling = False
        self._changed = gevent.event.Event()  # set on every readiness report and exit
        self._spawn_failures = 0
        # Learned: once any process of this watcher has said READY=1, its successors are expected to.
        self.notifies_ready = config.readiness == "notify"

    @classmethod
    def from_options(cls, name: str, cmd: str, **options: Any) -> Watcher:
        """The Python API: `Watcher.from_options("web", "python app.py", numprocesses=2)`."""
        return cls(parse_watcher(name, {"cmd": cmd, **options}, source="Watcher()"))

    # ----------------------------------------------------------------- introspection

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def numprocesses(self) -> int:
        """The target; len(watcher) is how many processes are live."""
        return self.config.numprocesses

    @property
    def priority(self) -> int:
        return self.config.priority

    def __len__(self) -> int:
        return sum(1 for p in self.processes.values() if p.state in LIVE_PROCESS_STATES)

    def __repr__(self) -> str:
        return f"<Watcher {self.name} {self.state.value} {len(self)}/{self.numprocesses}>"

    def option_values(self) -> dict[str, Any]:
        """Every option by Circus's name, as `options` and `get` report them."""
        return self.config.option_values()

    def run_extended_stats_hook(self, pid: int, info: dict[str, Any]) -> None:
        self._run_hook("extended_stats", pid=pid, stats=info)

    @property
    def removed(self) -> bool:
        """Removed by rm or reloadconfig: every later command is refused."""
        return self._removed

    def pids(self) -> list[int]:
        return sorted(self.processes)

    def live_processes(self) -> list[Process]:
        return sorted(
            (p for p in self.processes.values() if p.state in LIVE_PROCESS_STATES), key=lambda p: p.wid
        )

    # ----------------------------------------------------------------- commands

    def start(self) -> dict[str, list[int]]:
        with self._commanding():
            return self._start()

    def stop(self, *, fast: bool = False) -> dict[str, list[int]]:
        with self._commanding():
            return self._stop(fast=fast)

    def restart(self) -> dict[str, list[int]]:
        with self._commanding():
            stopped = self._stop()["stopped"]
            result = self._start()
            return {"stopped": stopped, "started": result["started"], "kept": result["kept"]}

    def reload(self, *, graceful: bool = True, sequential: bool = False) -> dict[str, list[int]]:
        """Replace every process with a new one, ready before replaced (see `_roll`). Circus's
        meanings are kept: graceful=False is a restart, send_hup sends SIGHUP instead."""
        with self._commanding():
            if self.state == WatcherState.STOPPED:
                return self._start() | {"stopped": []}
            if not graceful:
                stopped = self._stop()["stopped"]
                return self._start() | {"stopped": stopped}
            if self.config.send_hup:
                for proc in self.live_processes():
                    proc.send_signal(signal.SIGHUP)
                self._emit("reload", reload_payload(time.time()))
                return {"stopped": [], "started": [], "kept": self.pids()}
            return self._roll(sequential=sequential)

    def incr(self, nb: int = 1) -> int:
        with self._commanding():
            return self._set_numprocesses(self.numprocesses + nb)

    def decr(self, nb: int = 1) -> int:
        with self._commanding():
            return self._set_numprocesses(max(0, self.numprocesses - nb))

    def wait_settled(self, timeout_s: float) -> bool:
        """Wait until every process is ready and none is starting or stopping (after incr, decr, set
        numprocesses), at most `timeout_s`. Holds no lock: other commands go on meanwhile."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            busy = self._spawner is not None or any(
                p.state in (ProcessState.STARTING, ProcessState.STOPPING) for p in self.processes.values()
            )
            if not busy:
                return True
            gevent.sleep(0.02)
        return False

    def set_numprocesses(self, count: int) -> int:
        with self._commanding():
            return self._set_numprocesses(count)

    def set_options(self, options: dict[str, Any]) -> bool:
        """Apply option changes (the `set` command). Returns True when the processes were reloaded."""
        with self._commanding():
            new = self.config
            for key, value in options.items():
                new = set_watcher_option(new, key, value)
            return self._apply_config(new)

    def update_config(self, new: Any, *, force_reload: bool = False) -> bool:
        """Adopt a new WatcherConfig (reloadconfig): reload the processes if something they were
        started with changed, or if `force_reload` (a socket they use was bound anew). Returns True
        when they were reloaded; raises ClientError, with the old config back, if that reload failed."""
        with self._commanding():
            if force_reload and new == self.config and self.state != WatcherState.STOPPED:
                self._roll(sequential=False)
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
            for proc in targets:
                self._stop_process(proc, "kill command", signum=signum, timeout_s=graceful_timeout)
            for proc in targets:
                proc.wait_exited()
            return [p.pid for p in targets]

    # ----------------------------------------------------------------- state machinery

    def _set_state(self, new: WatcherState) -> None:
        check_transition(WATCHER_TRANSITIONS, self.state, new, f"watcher {self.name}")
        self.state = new

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        """Publish one event; the payload comes from its builder in protocol.pubsub."""
        try:
            self._emit_fn(self.name, event, payload)
        except Exception:  # an event sink must never break supervision
            log.exception("%s: publishing %s failed", self.name, event)

    def _tapped(self, stream: Any) -> Any:
        """`stream` behind the arbiter's output tap (runtime/output_tap.py), when it has one."""
        tap = getattr(self.arbiter, "tap_output", None)
        return tap(self.name, stream) if tap is not None else stream

    def _run_hook(self, hook: str, **kwargs: Any) -> bool:
        return self._hooks.run(hook, self, self.arbiter, self._emit, **kwargs)

    def _process(self, pid: int) -> Process:
        proc = self.processes.get(pid)
        if proc is None:
            raise ClientError(f"process {pid} not found in watcher {self.name!r}")
        return proc

    def _new_flapping_tracker(self) -> FlappingTracker:
        spec = self.config.flapping
        return FlappingTracker(spec.attempts, spec.window, spec.retry_in, spec.max_retry)

    def _start(self) -> dict[str, list[int]]:
        if self.state in (WatcherState.ACTIVE, WatcherState.STARTING):
            return {"started": [], "kept": self.pids()}
        if self.arbiter is not None and self.arbiter.stopping:
            raise ClientError(f"{self.name}: circusd is stopping; not starting", Errno.COMMAND_ERROR)
        if not self._run_hook("before_start"):
            raise ClientError(f"{self.name}: the before_start hook failed; not starting")
        kept = self.pids()
        self._open_streams()  # a bad stream (a missing directory) fails here, with the watcher still stopped
        self._set_state(WatcherState.STARTING)
        self._flapping.reset()
        self._paused_until_s = None
        self._spawn_failures = 0
        self._reconcile()
        if self._spawner is not None:
            self._spawner.join()
        if self.state != WatcherState.STARTING:  # gave up while starting (flapping), or stopped
            return {"started": [], "kept": kept}
        self._set_state(WatcherState.ACTIVE)
        log.info("%s started with %d process(es)", self.name, len(self))
        if not self._run_hook("after_start"):
            log.error("%s: after_start hook failed; stopping the watcher", self.name)
            self._stop()
            raise ClientError(f"{self.name}: the after_start hook failed; watcher stopped")
        self._emit("start", start_payload(time.time()))
        return {"started": [p for p in self.pids() if p not in kept], "kept": kept}

    def _stop(self, *, fast: bool = False) -> dict[str, list[int]]:
        if self.state == WatcherState.STOPPED:
            return {"stopped": []}
        self._run_hook("before_stop")
        self._set_state(WatcherState.STOPPING)
        self._cancel_background()
        procs = list(self.processes.values())
        timeout = min(self.config.graceful_timeout, FAST_STOP_S) if fast else None
        for proc in procs:
            self._stop_process(proc, "stop", timeout_s=timeout)
        if fast:
            self.hurry_stopping()
        for proc in procs:
            proc.wait_exited()
        self._close_streams()
        self._set_state(WatcherState.STOPPED)
        log.info("%s stopped", self.name)
        self._run_hook("after_stop")
        self._emit("stop", stop_payload(time.time()))
        return {"stopped": sorted(p.pid for p in procs)}

    def remove(self, *, nostop: bool = False) -> None:
        """Stop the processes (or, with `nostop`, forget them: `rm --nostop`) and refuse every later
        command: one that was waiting for this watcher's lock (an `incr` queued behind the stop)
        must not start processes nobody supervises."""
        with self._commanding():
            if nostop:
                self._detach()
            else:
                self._stop()
            self._removed = True

    def _detach(self) -> None:
        """Nothing respawns the processes and nothing stops them; they keep running on their own.
        Their exits are still reaped."""
        self._cancel_background()
        if self.state != WatcherState.STOPPED:
            self._set_state(WatcherState.STOPPING)
            self._set_state(WatcherState.STOPPED)
        log.info("%s removed without stopping; pids %s keep running unsupervised", self.name, self.pids())

    @contextlib.contextmanager
    def _commanding(self) -> Iterator[None]:
        """One command at a time on this watcher, and none once it has been removed."""
        with self._command_lock:
            if self._removed:
                raise ClientError(f"program {self.name} was removed", Errno.MESSAGE_ERROR)
            yield

    def hurry_stopping(self) -> None:
        """A fast stop: every process already on its way out (a reload, max_age, a `stop` command
        waiting out a long graceful_timeout) gets SIGKILL after FAST_STOP_S. Takes no lock, so it
        overtakes a command that holds this watcher's lock."""
        deadline = time.monotonic() + FAST_STOP_S

        def kill_when_due(proc: Process) -> None:
            if not proc.wait_exited(max(0.0, deadline - time.monotonic())):
                proc.kill_tree()

        for proc in list(self.processes.values()):
            if proc.state == ProcessState.STOPPING:
                gevent.spawn(kill_when_due, proc)

    def _cancel_background(self) -> None:
        current = gevent.getcurrent()
        if self._spawner is not None and self._spawner is not current:
            self._spawner.kill()
        self._spawner = None
        for timer in self._timers.values():
            if timer is not current:
                timer.kill(block=False)
        self._timers.clear()

    def _set_numprocesses(self, count: int) -> int:
        if self.config.singleton and count > 1:
            raise ClientError(f"{self.name} is a singleton: numprocesses must be 0 or 1, not {count}")
        self.config = set_watcher_option(self.config, "numprocesses", count)
        self._emit("updated", updated_payload(time.time(), key="numprocesses"))
        self._reconcile()
        return count

    def _apply_config(self, new: Any, *, force_reload: bool = False) -> bool:
        old = self.config
        before = old.option_values()
        changed = [k for k, v in new.option_values().items() if before.get(k) != v]
        if not changed:
            return False
        hooks = HookRunner(dict(new.hooks)) if new.hooks != old.hooks else None  # may fail: nothing changed
        replaced = _Replaced(old, self._flapping, _streams_changed(old, new))
        fresh = None
        if replaced.stream_names and self.state != WatcherState.STOPPED:
            # One that cannot open changes nothing. Only the changed ones: two objects rotating one
            # file (max_bytes, timed rotation) would each count and rotate on their own.
            fresh = _open_configured_streams(new, replaced.stream_names)
        if hooks is not None:
            self._hooks = hooks
        self.config = new
        if new.flapping != old.flapping:
            self._flapping = self._new_flapping_tracker()
        for key in changed:
            self._emit("updated", updated_payload(time.time(), key=key))
        if self.state == WatcherState.STOPPED:
            return False
        # New processes write to the new streams; the ones they replace keep theirs until they exit.
        if fresh is not None:
            replaced.streams = self._swap_streams(replaced.stream_names, fresh)
        if force_reload or any(needs_reload(k) for k in changed):
            self._roll(sequential=False, replaced=replaced)
            return True
        self._close_when_unused(replaced.streams)
        self._reconcile()
        return False

    # ----------------------------------------------------------------- reconciliation

    def _reconcile(self) -> None:
        """Bring the processes towards the config. Never yields (see the module docstring)."""
        if self.state not in (WatcherState.STARTING, WatcherState.ACTIVE):
            return
        if self._paused_until_s is not None or self._rolling:
            return
        views = [p.view() for p in self.processes.values()]
        effects = plan_scale(views, self.numprocesses, self.config.scale_down)
        if not any(isinstance(e, SpawnProcesses) for e in effects):
            effects += plan_recycle(views, time.monotonic())
        for effect in effects:
            if isinstance(effect, StopProcess):
                self._stop_process(self.processes[effect.pid], effect.reason)
            elif isinstance(effect, RetireProcess):
                proc = self.processes[effect.pid]
                proc.retiring = True
                log.info("recycling %s pid=%d (max_age): its replacement starts first", proc.label, proc.pid)
                self._reconcile()  # it no longer counts as live: plan its replacement now
                return
            elif isinstance(effect, SpawnProcesses) and self._spawner is None:
                self._spawner = gevent.spawn(self._spawn_missing)
        self._schedule_recycle()

    def _spawn_missing(self) -> None:
        """Spawn until numprocesses are live, spaced by warmup_delay as in Circus. Linear in the number
        of processes: the live count and the free wids are computed once per batch, and the plan is
        reconciled once at the end; between spawns the hub runs, so commands are answered meanwhile."""
        try:
            while self._may_spawn():
                live = [p for p in self.live_processes() if not p.retiring]  # as plan_scale counts
                missing = self.numprocesses - len(live)
                if missing <= 0:
                    break
                used = {p.wid for p in self.processes.values()}  # draining ones keep their wid
                wid = 0
                for spawned in range(missing):
                    if not self._may_spawn() or len(live) + spawned >= self.numprocesses:
                        break
                    # Every wid below the last one given is taken, so the search goes on from there.
                    wid = next_wid(used, start=wid + 1)
                    used.add(wid)
                    self._spawn_one(wid)
                    gevent.sleep(self.config.warmup_delay)
        finally:
            if self._spawner is gevent.getcurrent():
                self._spawner = None
                self._reconcile()

    def _may_spawn(self) -> bool:
        return self.state in (WatcherState.STARTING, WatcherState.ACTIVE) and self._paused_until_s is None

    def _schedule_recycle(self) -> None:
        when = (
            next_recycle_at([p.view() for p in self.processes.values()]) if self.config.max_age > 0 else None
        )
        old = self._timers.pop("recycle", None)
        if old is not None and old is not gevent.getcurrent():
            old.kill(block=False)
        if when is not None:
            self._timers["recycle"] = gevent.spawn_later(max(0.0, when - time.monotonic()), self._reconcile)

    # ----------------------------------------------------------------- spawning

    def spawn_variables(self, wid: int, env: dict[str, str]) -> dict[str, str]:
        """The $(circus.*) variables of one spawn (PROTOCOL.md 3.8)."""
        variables = dict(self._option_variables())
        variables["circus.wid"] = str(wid)
        variables["circus.name"] = self.name
        variables["circus.working_dir"] = self.config.working_dir or os.getcwd()
        variables["circus.shell"] = str(self.config.shell)
        if self.sockets is not None:
            for sock_name, fd in self.sockets.fds().items():
                variables[f"circus.sockets.{sock_name}"] = str(fd)
        for key, value in env.items():
            variables[f"circus.env.{key.lower()}"] = value
        return variables

    def _option_variables(self) -> dict[str, str]:
        """`circus.<option>` for every option, computed once per config (a spawn of thousands pays once)."""
        cached = self._variables_cache
        if cached is None or cached[0] is not self.config:
            options = {
                f"circus.{k}": "" if v is None else str(v)
                for k, v in self.config.option_values().items()
                if not isinstance(v, dict | list)
            }
            cached = self._variables_cache = (self.config, options)
        return cached[1]

    def _spawn_env(self) -> dict[str, str]:
        cfg = self.config
        env = dict(os.environ) if cfg.copy_env else {}
        env.update(cfg.env)
        if cfg.copy_path:
            env["PYTHONPATH"] = os.pathsep.join(p for p in [*sys.path, env.get("PYTHONPATH", "")] if p)
        if cfg.virtualenv:
            site = glob.glob(
                os.path.join(cfg.virtualenv, "lib", f"python{cfg.virtualenv_py_ver or '*'}", "site-packages")
            )
            env["PYTHONPATH"] = os.pathsep.join(p for p in [*site, env.get("PYTHONPATH", "")] if p)
            env["PATH"] = os.pathsep.join([os.path.join(cfg.virtualenv, "bin"), env.get("PATH", os.defpath)])
            env["VIRTUAL_ENV"] = cfg.virtualenv
        if self.notify_socket:
            env["NOTIFY_SOCKET"] = self.notify_socket
        return env

    def build_spawn_spec(self, wid: int) -> spawner.SpawnSpec:
        cfg = self.config
        env = self._spawn_env()
        variables = self.spawn_variables(wid, env)
        env = {k: substitute(v, variables) if "$(" in v or "((" in v else v for k, v in env.items()}
        cmd = substitute(cfg.cmd, variables)
        args = [substitute(a, variables) for a in cfg.args]
        if cfg.shell:
            line = " ".join([cmd, *(shlex.quote(a) for a in args)])
            argv = [line, *shlex.split(cfg.shell_args or "")]
        else:
            argv = shlex.split(cmd) + args
        pass_fds: tuple[int, ...] = ()
        if cfg.use_sockets and self.sockets is not None:
            pass_fds = tuple(sorted(self.sockets.fds().values()))
        stdin_fd = None
        if cfg.stdin_socket:
            bound = self.sockets.get(cfg.stdin_socket) if self.sockets is not None else None
            if bound is None:
                raise ClientError(f"{self.name}: stdin_socket {cfg.stdin_socket!r} is not a bound socket")
            stdin_fd = bound.fd
        return spawner.SpawnSpec(
            argv=argv,
            env=env,
            cwd=cfg.working_dir,
            executable=cfg.executable,
            shell=cfg.shell,
            pass_fds=pass_fds,
            stdin=stdin_fd,
            close_stdin=cfg.close_child_stdin,
            capture_stdout="stdout" in self._streams,
            capture_stderr=not cfg.close_child_stderr,
            close_stdout=cfg.close_child_stdout,
            close_stderr=cfg.close_child_stderr,
            uid=cfg.uid,
            gid=cfg.gid,
            umask=cfg.umask,
            rlimits=dict(cfg.rlimits),
        )

    def _spawn_one(self, wid: int | None = None) -> Process | None:
        if not self._run_hook("before_spawn"):
            log.error("%s: before_spawn hook failed; stopping the watcher", self.name)
            gevent.spawn(self.stop)
            self._paused_until_s = float("inf")
            return None
        if wid is None:
            # A process still draining keeps its wid: a successor may not take it yet (it may bind
            # a port derived from $(circus.wid)).
            wid = next_wid(p.wid for p in self.processes.values())
        try:
            spec = self.build_spawn_spec(wid)
            child = spawner.spawn(spec)
        except (OSError, ValueError, ClientError, subprocess.SubprocessError) as exc:
            self._on_spawn_failure(wid, exc)
            return None
        self._spawn_failures = 0
        cfg = self.config
        proc = Process(
            self.name,
            wid,
            child,
            generation=self._generation,
            expires_s=expiry_deadline(time.monotonic(), cfg.max_age, cfg.max_age_variance, random.random()),
        )
        # Tracked and watched before anything else can fail: a child nobody reaps would hang `stop`.
        self.processes[proc.pid] = proc
        if increment := self._startup_nice():
            proc.lowered_nice = priority.lower(proc.pid, increment)
            gevent.spawn_later(priority.LOWERED_AT_MOST_S, self._restore_priority, proc)
        gevent.spawn(self._watch_exit, proc)
        if child.stdout_fd is not None:
            stream = self._stream("stdout")
            self._add_pump(
                streams.pump_pipe(child.stdout_fd, self._tapped(stream), proc.pid, "stdout"), stream
            )
        if child.stderr_fd is not None:
            stream = self._stream("stderr")
            sink = TailTap(self._tapped(stream), proc.stderr_tail)
            self._add_pump(streams.pump_pipe(child.stderr_fd, sink, proc.pid, "stderr"), stream)
        log.info("spawned %s pid=%d", proc.label, proc.pid)
        self._emit("spawn", spawn_payload(proc.pid, proc.started, wid=proc.wid))
        if not self._awaits_ready_signal():
            if cfg.warmup_delay > 0:
                gevent.spawn_later(cfg.warmup_delay, self._warmup_elapsed, proc)
            else:
                self._mark_ready(proc, reconcile=False)  # whoever spawned reconciles once, after
        else:
            gevent.spawn_later(cfg.ready_timeout, self._ready_timeout_elapsed, proc, cfg.ready_timeout)
        if not self._run_hook("after_spawn", pid=proc.pid):
            log.error("%s: after_spawn hook failed for pid %d; stopping the watcher", self.name, proc.pid)
            self._stop_process(proc, "after_spawn hook failed", timeout_s=0)
            gevent.spawn(self.stop)
            self._paused_until_s = float("inf")
        return proc

    def _restore_priority(self, proc: Process) -> None:
        if proc.lowered_nice is not None and not proc.reaped:
            priority.restore(proc.pid, proc.lowered_nice)
        proc.lowered_nice = None

    def _startup_nice(self) -> int:
        """How much to lower a new process's priority until it is ready: nothing for a process ready as
        soon as spawned, or when circusd could not give the priority back."""
        cfg = self.config
        ready_at_once = not self._awaits_ready_signal() and cfg.warmup_delay <= 0
        if cfg.startup_nice == 0 or ready_at_once or not priority.can_restore():
            return 0
        return cfg.startup_nice

    def _stream(self, name: str) -> Any:
        """The stream a new process's pipe goes to; opened now if the config changed since the watcher
        started (close_child_stderr turned off, say)."""
        if name not in self._streams:
            self._open_streams()
        return self._streams.get(name) or streams.InheritedStderr()

    def _add_pump(self, pump: gevent.Greenlet, stream: Any) -> None:
        self._pumps[pump] = stream
        pump.link(lambda ended: self._pumps.pop(ended, None))

    def _on_spawn_failure(self, wid: int, exc: Exception) -> None:
        self._spawn_failures += 1
        if isinstance(exc, FileNotFoundError):
            what = f"command not found: {exc.filename or self.config.cmd!r}"
        elif isinstance(exc, OSError):
            what = f"{exc.strerror or exc} ({exc.filename or self.config.cmd})"
        else:
            what = str(exc)
        log.error("%s#%d: cannot spawn %r: %s", self.name, wid, self.config.cmd, what)
        max_retry = self.config.max_retry
        if max_retry >= 0 and self._spawn_failures > max_retry:
            self._give_up(f"{self._spawn_failures} spawn failures in a row (max_retry = {max_retry})")
            return
        self._after_unexpected_exit()

    # ----------------------------------------------------------------- readiness and exits

    def report_ready(self, pid: int) -> bool:
        """READY=1 from `pid` (from the notify socket). False if it is not one of ours."""
        proc = self.processes.get(pid)
        if proc is None:
            return False
        if self.config.readiness != "alive":
            self.notifies_ready = True
        self._mark_ready(proc)
        return True

    def _ready_timeout_elapsed(self, proc: Process, timeout_s: float) -> None:
        """A process that has not said READY=1 within ready_timeout failed to start (as systemd judges
        a Type=notify service): it is stopped and, like any process that ends, replaced. Left starting,
        it would hold back max_age recycling, `--waiting` commands and its priority (startup_nice) for
        good. A reload in progress judges its new processes itself (and rolls back)."""
        if proc.state != ProcessState.STARTING or self._rolling:
            return
        log.error(
            "%s pid=%d was not ready after %gs (ready_timeout); stopping it%s",
            proc.label,
            proc.pid,
            timeout_s,
            stderr_tail_suffix(proc),
        )
        self._stop_process(proc, "not ready after ready_timeout")

    def _awaits_ready_signal(self) -> bool:
        """Whether a new process counts as ready only once it says READY=1 (else: alive long enough)."""
        return self.notifies_ready and self.config.readiness != "alive"

    def _warmup_elapsed(self, proc: Process) -> None:
        if not self._awaits_ready_signal():
            self._mark_ready(proc)

    def _mark_ready(self, proc: Process, *, reconcile: bool = True) -> None:
        if proc.state != ProcessState.STARTING:
            return
        proc.set_state(ProcessState.RUNNING)
        self._restore_priority(proc)
        log.debug("%s pid=%d ready after %.2fs", proc.label, proc.pid, proc.age())
        self._changed.set()
        if reconcile:
            self._reconcile()

    def _watch_exit(self, proc: Process) -> None:
        exit_code = spawner.wait_exit(proc.child)
        proc.reaped = True
        try:
            self._on_exit(proc, exit_code)
        finally:
            # Whatever a hook or a log handler raised, the process is gone: say so to every waiter.
            if not proc.exited.is_set():
                self.processes.pop(proc.pid, None)
                proc.exited.set()
                self._changed.set()

    def _on_exit(self, proc: Process, exit_code: int) -> None:
        expected = proc.state == ProcessState.STOPPING
        self._run_hook("before_reap", process_pid=proc.pid, time=time.time())
        proc.exit_code = exit_code
        proc.set_state(ProcessState.EXITED)
        self.processes.pop(proc.pid, None)
        proc.exited.set()
        self._changed.set()
        if expected:
            log.info(
                "reaped %s pid=%d (%s): %s", proc.label, proc.pid, proc.stop_reason, describe_exit(exit_code)
            )
        else:
            log.warning(
                "exited %s pid=%d: %s after %.1fs", proc.label, proc.pid, describe_exit(exit_code), proc.age()
            )
        self._emit("reap", reap_payload(proc.pid, time.time(), exit_code, wid=proc.wid, expected=expected))
        self._run_hook(
            "after_reap", process_pid=proc.pid, time=time.time(), exit_code=exit_code, process_status=None
        )
        if expected or self.state not in (WatcherState.STARTING, WatcherState.ACTIVE):
            self._reconcile()
            return
        if not self.config.respawn:
            if not self.processes:
                log.info("%s: every process has exited and respawn is off; the watcher is stopped", self.name)
                gevent.spawn(self.stop)
            return
        self._after_unexpected_exit()

    def _after_unexpected_exit(self) -> None:
        decision = self._flapping.record_exit(time.monotonic())
        if isinstance(decision, PauseWatcher):
            self._pause(decision)
        elif isinstance(decision, GiveUpWatcher):
            self._give_up(
                f"still flapping after {decision.pauses} pause(s) "
                f"(flapping.max_retry = {self.config.flapping.max_retry})"
            )
        else:
            self._reconcile()

    def _pause(self, decision: PauseWatcher) -> None:
        spec = self.config.flapping
        left = (
            "unlimited retries" if decision.retries_left is None else f"{decision.retries_left} retries left"
        )
        log.warning(
            "%s is flapping: %d exits within %gs; pausing %gs (pause %d, %s)",
            self.name,
            spec.attempts,
            spec.window,
            decision.retry_in_s,
            decision.attempt,
            left,
        )
        self._paused_until_s = time.monotonic() + decision.retry_in_s
        self._emit_flapping(decision.retry_in_s, decision.retries_left, pause=decision.attempt)
        previous = self._timers.pop("resume", None)
        if previous is not None:
            previous.kill(block=False)
        self._timers["resume"] = gevent.spawn_later(decision.retry_in_s, self._resume)

    def _resume(self) -> None:
        self._timers.pop("resume", None)
        self._paused_until_s = None
        log.info("%s: resuming after the flapping pause", self.name)
        self._reconcile()

    def _give_up(self, why: str) -> None:
        log.error(
            "%s: giving up: %s; the watcher is stopped (circusctl start %s to try again)",
            self.name,
            why,
            self.name,
        )
        self._paused_until_s = float("inf")
        self._emit_flapping(None, 0, reason=why)
        gevent.spawn(self.stop)

    def _emit_flapping(self, retry_in_s: float | None, retries_left: int | None, **extra: Any) -> None:
        """A pause (retry_in_s) or the give-up (None), with the rule that triggered it."""
        spec = self.config.flapping
        payload = flapping_payload(
            time.time(),
            attempts=spec.attempts,
            window=spec.window,
            retry_in=retry_in_s,
            retries_left=retries_left,
            **extra,
        )
        self._emit("flapping", payload)

    # ----------------------------------------------------------------- stopping processes

    def _stop_process(
        self, proc: Process, reason: str, *, signum: int | None = None, timeout_s: float | None = None
    ) -> None:
        """Begin a graceful stop; never yields. A greenlet escalates to SIGKILL after the timeout."""
        if proc.state in (ProcessState.STOPPING, ProcessState.EXITED):
            return
        proc.set_state(ProcessState.STOPPING)
        proc.stop_reason = reason
        gevent.spawn(
            self._stop_sequence,
            proc,
            reason,
            signum or self.config.stop_signal,
            self.config.graceful_timeout if timeout_s is None else timeout_s,
        )

    def _stop_sequence(self, proc: Process, reason: str, signum: int, timeout_s: float) -> None:
        if signum != signal.SIGKILL and not self._run_hook("before_signal", pid=proc.pid, signum=signum):
            log.info(
                "%s pid=%d: before_signal hook vetoed %s (%s)",
                proc.label,
                proc.pid,
                signal_name(signum),
                reason,
            )
        else:
            log.info("stopping %s pid=%d (%s) with %s", proc.label, proc.pid, reason, signal_name(signum))
            proc.send_signal(signum, recursive=self.config.stop_children)
            self._emit("kill", kill_payload(proc.pid, time.time()))
            self._run_hook("after_signal", pid=proc.pid, signum=signum)
        if proc.wait_exited(timeout_s):
            return
        if timeout_s > 0:
            log.warning(
                "%s pid=%d ignored %s for %gs (graceful_timeout); sending SIGKILL",
                proc.label,
                proc.pid,
                signal_name(signum),
                timeout_s,
            )
        proc.kill_tree()
        if not proc.wait_exited(KILL_WAIT_S):
            log.error(
                "%s pid=%d survived SIGKILL for %gs (uninterruptible sleep?)",
                proc.label,
                proc.pid,
                KILL_WAIT_S,
            )

    # ----------------------------------------------------------------- reload

    def _roll(self, *, sequential: bool, replaced: _Replaced | None = None) -> dict[str, list[int]]:
        """The rolling reload: start up to max_surge new processes, stop an old one only once a new
        one is ready, until none of the old generation is left (core.restart_plan decides each step).
        A new process that exits or misses ready_timeout rolls the reload back: the new processes
        are stopped, the old ones keep serving, the config and streams (if they changed) are restored,
        and a ClientError names the cause."""
        self._generation += 1
        old = {p.pid: p for p in self.live_processes()}
        new: dict[int, Process] = {}
        retired: list[Process] = []
        self._rolling = True
        try:
            while True:
                self._changed.clear()
                failure = self._rolling_failure(new)
                if failure is None and self.arbiter is not None and self.arbiter.stopping:
                    failure = "circusd is stopping"
                if failure is not None:
                    self._roll_back(new, failure, replaced)
                for pid in [pid for pid, p in old.items() if p.exited.is_set()]:
                    del old[pid]  # died on its own meanwhile: the plan simply sees one fewer
                starting = sum(1 for p in new.values() if p.state == ProcessState.STARTING)
                ready = sum(1 for p in new.values() if p.state == ProcessState.RUNNING)
                counts = {
                    "old": len(old),
                    "new_starting": starting,
                    "new_ready": ready,
                    "target": self.numprocesses,
                }
                if sequential:
                    draining = sum(1 for p in retired if not p.exited.is_set())
                    step = plan_sequential_step(**counts, old_draining=draining)
                else:
                    step = plan_rolling_step(**counts, max_surge=self.config.max_surge)
                for victim in sorted(old.values(), key=lambda p: (p.started_s, p.pid))[: step.stop_old]:
                    del old[victim.pid]
                    self._stop_process(victim, "reload")
                    retired.append(victim)
                for _ in range(step.spawn):
                    proc = self._spawn_one()
                    if proc is None:
                        self._roll_back(new, f"cannot spawn {self.config.cmd!r} (see the log)", replaced)
                    new[proc.pid] = proc
                if step.spawn or step.stop_old or step.done:
                    self._emit(
                        "reload",
                        reload_payload(time.time(), old=len(old), new=len(new), ready=ready, done=step.done),
                    )
                if step.done:
                    failure = self._rolling_failure(new)  # a new process may have died on the last step
                    if failure is not None:
                        self._roll_back(new, failure, replaced)
                    break
                self._changed.wait(self._next_ready_deadline(new))
        finally:
            self._rolling = False
        for proc in retired:
            proc.wait_exited()
        if replaced is not None:
            self._close_when_unused(replaced.streams)
        log.info("%s reloaded: %d new process(es) ready, %d old stopped", self.name, len(new), len(retired))
        self._reconcile()
        return {"stopped": [p.pid for p in retired], "started": sorted(new), "kept": []}

    def _next_ready_deadline(self, new: dict[int, Process]) -> float | None:
        """Seconds until the earliest ready_timeout of a new process still starting (None: no limit)."""
        waits = [
            self.config.ready_timeout - p.age() for p in new.values() if p.state == ProcessState.STARTING
        ]
        return max(0.0, min(waits)) + 0.01 if waits else None

    def _rolling_failure(self, new: dict[int, Process]) -> str | None:
        """Why the new generation failed, naming the process, its exit and its last stderr lines."""
        for proc in new.values():
            if proc.exited.is_set():
                why = f"{proc.label} pid={proc.pid} {describe_exit(proc.exit_code or 0)} before it was ready"
            elif proc.state == ProcessState.STARTING and proc.age() >= self.config.ready_timeout:
                why = (
                    f"{proc.label} pid={proc.pid} was not ready after {self.config.ready_timeout:g}s "
                    "(ready_timeout)"
                )
            else:
                continue
            return why + stderr_tail_suffix(proc)
        return None

    def _roll_back(self, new: dict[int, Process], cause: str, replaced: _Replaced | None) -> NoReturn:
        for proc in new.values():
            self._stop_process(proc, "reload rolled back")
        if replaced is not None:
            self.config = replaced.config
            self._hooks = HookRunner(dict(replaced.config.hooks))
            self._flapping = replaced.flapping  # with the exits it had counted
            self._close_when_unused(self._swap_streams(replaced.stream_names, replaced.streams))
        for proc in new.values():
            proc.wait_exited()
        self._rolling = False
        log.error("%s: reload rolled back: %s; the previous processes keep serving", self.name, cause)
        self._emit("reload", reload_payload(time.time(), rolled_back=True, reason=cause))
        self._reconcile()
        raise ClientError(
            f"reload of {self.name} rolled back: {cause}; the previous processes keep serving",
            Errno.COMMAND_ERROR,
        )

    # ----------------------------------------------------------------- streams

    def _open_streams(self) -> None:
        """Open the config's streams that are not open yet (all of them at start)."""
        wanted = [name for name in STREAM_NAMES if name not in self._streams]
        self._streams.update(_open_configured_streams(self.config, wanted))

    def _close_streams(self) -> None:
        pumps, self._pumps = self._pumps, {}
        gevent.joinall([p for p in pumps if not p.dead], timeout=5.0)
        for stream in self._streams.values():
            with contextlib.suppress(Exception):
                stream.close()
        self._streams.clear()

    def _swap_streams(self, names: tuple[str, ...], streams: dict[str, Any]) -> dict[str, Any]:
        """Put `streams` in place for `names`; the ones they replace (for the names that had one)."""
        replaced = {name: self._streams.pop(name) for name in names if name in self._streams}
        self._streams.update(streams)
        return replaced

    def _close_when_unused(self, retired: dict[str, Any]) -> None:
        """Close streams new processes no longer get, once the pumps still writing to them have ended
        (their processes exited), so no last line is lost. Until then a logrotate reopens them too."""
        for stream in retired.values():
            users = [pump for pump, target in self._pumps.items() if target is stream]
            self._retired_streams.add(stream)
            gevent.spawn(self._close_after, stream, users)

    def _close_after(self, stream: Any, pumps: list[gevent.Greenlet]) -> None:
        gevent.joinall(pumps)
        self._retired_streams.discard(stream)
        with contextlib.suppress(Exception):
            stream.close()

    def reopen_streams(self) -> None:
        for stream in [*self._streams.values(), *self._retired_streams]:
            stream.reopen()
