"""Circus's `ThreadedArbiter`: the arbiter on a gevent hub of its own in a background thread, so that
a program that is not a gevent program can `start()` it and go on (get_arbiter(..., background=True)).

The rule: the arbiter, its watchers and their greenlets live only in that thread; every call from
outside is carried into it and waits for its answer there.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import gevent

from circus_web_stack.runtime.arbiter import Arbiter
from circus_web_stack.runtime.watcher import Watcher

T = TypeVar("T")

# How long start() waits for the arbiter thread to be up (its sockets bound) before saying so.
START_TIMEOUT_S = 30.0


class ThreadedArbiter:
    def __init__(self, build: Callable[[], Arbiter]) -> None:
        self._build = build
        self._arbiter: Arbiter | None = None
        self._hub: Any = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="circus-arbiter", daemon=True)

    def start(self) -> None:
        """Start the arbiter in its thread and return once it runs (or raise why it could not)."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise TimeoutError(f"the arbiter thread did not start within {START_TIMEOUT_S:g}s")
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        try:
            self._arbiter = self._build()
            self._hub = gevent.get_hub()
            self._arbiter.run_in_background()
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        self._arbiter.wait_stopped()

    def call(self, fn: Callable[[Arbiter], T]) -> T:
        """Run `fn(arbiter)` in the arbiter's thread and return (or raise) what it did."""
        if self._arbiter is None:
            raise RuntimeError("the arbiter is not started")
        if threading.current_thread() is self._thread:
            return fn(self._arbiter)
        answer: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        arbiter = self._arbiter

        def run() -> None:
            try:
                answer.put((True, fn(arbiter)))
            except BaseException as exc:
                answer.put((False, exc))

        self._hub.loop.run_callback_threadsafe(lambda: gevent.spawn(run))
        ok, value = answer.get()
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """Stop every watcher (gracefully) and the arbiter, and wait for its thread to end."""
        if self._arbiter is not None and self._thread.is_alive():
            self.call(lambda a: a.stop())
        self._thread.join()

    def __getattr__(self, name: str) -> Any:
        """Everything else an Arbiter has (watchers, get_watcher, add_watcher, numprocesses, reload,
        ...), read or called in its own thread; the watchers it hands out are bound to that thread too."""
        if name.startswith("_"):
            raise AttributeError(name)
        return _forwarded(self.call, lambda a: getattr(a, name))


class ThreadBoundWatcher:
    """A Watcher of a ThreadedArbiter, for the caller's thread: every attribute is read, and every
    method runs, in the arbiter's thread (a watcher's greenlets live on that thread's hub)."""

    def __init__(self, call: Callable[[Callable[[Arbiter], Any]], Any], watcher: Watcher) -> None:
        self._call = call
        self._watcher = watcher

    def __repr__(self) -> str:
        return repr(self._watcher)

    def __len__(self) -> int:
        return self._call(lambda a: len(self._watcher))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _forwarded(self._call, lambda a: getattr(self._watcher, name))


def _forwarded(call: Callable[[Callable[[Arbiter], Any]], Any], read: Callable[[Arbiter], Any]) -> Any:
    """What `read` gives in the arbiter's thread: a method becomes a function that runs it there;
    watchers (alone or in a list) come back thread-bound."""
    attribute = call(read)
    if callable(attribute):
        return lambda *args, **kwargs: _bound(call, call(lambda a: read(a)(*args, **kwargs)))
    return _bound(call, attribute)


def _bound(call: Callable[[Callable[[Arbiter], Any]], Any], value: Any) -> Any:
    if isinstance(value, Watcher):
        return ThreadBoundWatcher(call, value)
    if isinstance(value, list) and value and all(isinstance(v, Watcher) for v in value):
        return [ThreadBoundWatcher(call, v) for v in value]
    return value
