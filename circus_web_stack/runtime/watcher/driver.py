"""A watcher's driver: events in, one at a time, through core.watcher_fsm.step; effects out to the
executor, in order, before the next event; answers to the commands that wait for them.

The rule: the model changes only here, in one greenlet, so a step never sees another half-done.
A step that raises (a bug) is logged with the event and the phase, and fails the command it served;
the watcher and the daemon go on.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable

import gevent
import gevent.event

from circus_web_stack.core.effects import Complete, Effect, Fail
from circus_web_stack.core.errors import ClientError, Errno
from circus_web_stack.core.events import CommandId, Event
from circus_web_stack.core.watcher_fsm import step
from circus_web_stack.core.watcher_model import WatcherModel

log = logging.getLogger("circus_web_stack.watcher")


class Driver:
    def __init__(self, model: WatcherModel, clock: Callable[[], float] = time.monotonic) -> None:
        self.model = model
        self.clock = clock
        self.run_effect: Callable[[Effect], None] = lambda effect: None
        self._events: deque[Event] = deque()
        self._wakeup = gevent.event.Event()
        self._answers: dict[CommandId, gevent.event.AsyncResult] = {}
        self._ids = itertools.count(1)
        # Started by the first event, on the hub of the thread that runs the watcher (a background
        # arbiter builds its watchers in one thread and runs them in another).
        self._loop: gevent.Greenlet | None = None

    def submit(self, event: Event) -> None:
        self._events.append(event)
        if self._loop is None:
            self._loop = gevent.spawn(self._run)
        self._wakeup.set()

    def call(self, make: Callable[[CommandId], Event]) -> dict:
        """Submit the command `make(id)` builds and wait for its answer; a Fail raises ClientError."""
        command = next(self._ids)
        answer = gevent.event.AsyncResult()
        self._answers[command] = answer
        self.submit(make(command))
        result = answer.get()
        if isinstance(result, Fail):
            raise ClientError(result.reason, result.errno)
        return result.result

    def answer(self, effect: Complete | Fail) -> None:
        waiter = self._answers.pop(effect.command, None)
        if waiter is not None:
            waiter.set(effect)

    def _run(self) -> None:
        while True:
            self._wakeup.clear()
            while self._events:
                self._step(self._events.popleft())
                # Between two steps the hub runs: a start of thousands of processes (one spawn per
                # step) or a burst of exits must not keep commands and other watchers waiting.
                gevent.sleep(0)
            self._wakeup.wait()

    def _step(self, event: Event) -> None:
        phase = self.model.phase
        try:
            effects = step(self.model, event, self.clock())
        except Exception as exc:
            log.exception("%s: %s while %s failed", self.model.name, type(event).__name__, phase)
            command = getattr(event, "command", None)
            if command is not None:
                self.answer(Fail(command, f"{self.model.name}: internal error: {exc}", Errno.COMMAND_ERROR))
            return
        for effect in effects:
            try:
                self.run_effect(effect)
            except Exception:  # one failed effect must not keep the others (an answer) from running
                log.exception("%s: carrying out %s failed", self.model.name, type(effect).__name__)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
