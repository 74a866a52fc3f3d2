"""A fake System (runtime/system.py) for in-process tests of a watcher: processes are scripted, time
is a FakeClock, and nothing is forked. What the fake processes do is a FakeProgram per command."""

from __future__ import annotations

import itertools
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import gevent.event

from circus_web_stack.runtime.spawner import SpawnSpec
from circus_web_stack.testing.fake_clock import FakeClock, FakeTimer

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


@dataclass(frozen=True)
class FakeProgram:
    """How a fake process behaves: it says READY=1 after `ready_after_s` (None: never); exits on its own
    with `exit_code` after `exits_after_s` (None: never); after its stop signal exits with code 0
    `stops_after_s` later (None: it ignores the signal, and only SIGKILL ends it)."""

    ready_after_s: float | None = 0.1
    exits_after_s: float | None = None
    exit_code: int = 0
    stops_after_s: float | None = 0.05
    spawn_error: OSError | None = None


@dataclass
class FakeChild:
    pid: int
    program: FakeProgram
    stdout_fd: int | None = None
    stderr_fd: int | None = None
    exit_code: int | None = None
    exited: gevent.event.Event = field(default_factory=gevent.event.Event)
    timers: list[FakeTimer] = field(default_factory=list)


class FakeSystem:
    def __init__(self, clock: FakeClock, programs: dict[str, FakeProgram] | None = None) -> None:
        self.clock = clock
        self.programs = dict(programs or {})  # by the command's first word
        self.children: dict[int, FakeChild] = {}
        self.signals: list[tuple[int, int]] = []
        self.groups_left: set[int] = set()  # pids whose group outlives them (a shell's background job)
        self.on_ready: Callable[[int], object] = lambda pid: None  # a watcher's report_ready
        self._pids = itertools.count(1000)

    # ----------------------------------------------------------------- System

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> FakeTimer:
        return self.clock.call_later(delay_s, callback)

    def spawn(self, spec: SpawnSpec) -> FakeChild:
        program = self.programs.get(spec.argv[0].split()[0], FakeProgram())
        if program.spawn_error is not None:
            raise program.spawn_error
        child = FakeChild(next(self._pids), program)
        self.children[child.pid] = child
        if program.ready_after_s is not None:
            self._later(child, program.ready_after_s, lambda: self.on_ready(child.pid))
        if program.exits_after_s is not None:
            self._later(child, program.exits_after_s, lambda: self.exit(child.pid, program.exit_code))
        return child

    def wait_exit(self, child: FakeChild) -> int:
        child.exited.wait()
        assert child.exit_code is not None
        return child.exit_code

    def signal(self, pid: int, signum: int, *, children: bool = False, recursive: bool = False) -> None:
        self.signals.append((pid, signum))
        child = self.children.get(pid)
        if child is None or child.exit_code is not None:
            return
        if signum == signal.SIGKILL:
            self.exit(pid, -signal.SIGKILL)
        elif (
            signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
            and child.program.stops_after_s is not None
        ):
            self._later(child, child.program.stops_after_s, lambda: self.exit(pid, 0))

    def kill_tree(self, pid: int) -> None:
        self.signal(pid, signal.SIGKILL)

    def group_outlives(self, pgid: int) -> bool:
        return pgid in self.groups_left

    def wall_time(self) -> float:
        return self.clock.monotonic()

    def can_restore_priority(self) -> bool:
        return False

    def lower_priority(self, pid: int, increment: int) -> int | None:
        return None

    def restore_priority(self, pid: int, value: int) -> None:
        return None

    # ----------------------------------------------------------------- the test's hand

    def exit(self, pid: int, code: int) -> None:
        """The process ends now with `code` (-signum for a signal)."""
        child = self.children[pid]
        if child.exit_code is not None:
            return
        child.exit_code = code
        for timer in child.timers:
            timer.cancel()
        child.exited.set()

    def alive(self) -> list[int]:
        return sorted(pid for pid, c in self.children.items() if c.exit_code is None)

    def _later(self, child: FakeChild, delay_s: float, action: Callable[[], None]) -> None:
        child.timers.append(self.clock.call_later(delay_s, action))
