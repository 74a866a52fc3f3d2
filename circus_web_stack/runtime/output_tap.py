"""The live output tap: each process's stdout/stderr lines, published on the event socket under
`output.<watcher>.<stream>` (protocol.pubsub) for the console's live tail, no log file needed.

Rules: the stream behind the tap gets every byte exactly as before, and nothing the tap does can fail
or slow the pump. What is published is bounded so a chatty worker cannot flood the PUB socket: per
watcher at most LINES_PER_S lines a second (bursts of BURST_LINES), each line cut at MAX_LINE_CHARS;
lines past the budget are counted (`dropped` in the next message), never queued. Nothing is cut or
published while nobody subscribes to `output.` by name (the console does), so it costs nothing then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from circus_web_stack.core.line_budget import LineBudget
from circus_web_stack.protocol.pubsub import OUTPUT_TOPIC_PREFIX, output_payload, output_topic

log = logging.getLogger("circus_web_stack.output_tap")

LINES_PER_S = 200.0
BURST_LINES = 400
MAX_LINE_CHARS = 2000
# An unfinished line is held up to this many bytes per pipe; past it, it goes out cut.
MAX_PENDING_BYTES = 4 * MAX_LINE_CHARS

Send = Callable[[str, dict[str, Any]], None]  # (topic, payload)
Wanted = Callable[[], bool]  # whether anyone listens to the output lines now


class OutputLines:
    """Cuts each pipe's bytes into lines and publishes them within each watcher's budget."""

    def __init__(
        self, send: Send, clock: Callable[[], float] = time.monotonic, wanted: Wanted = lambda: True
    ) -> None:
        self._send = send
        self._clock = clock
        self._wanted = wanted
        self._pending: dict[tuple[int, str], bytes] = {}
        self._budgets: dict[str, LineBudget] = {}

    def feed(self, watcher: str, pid: int, stream: str, data: bytes) -> None:
        if not self._wanted():
            self._pending.pop((pid, stream), None)
            return
        buffered = self._pending.pop((pid, stream), b"") + data
        *whole, rest = buffered.split(b"\n")
        if len(rest) > MAX_PENDING_BYTES:
            whole.append(rest)
            rest = b""
        if rest:
            self._pending[(pid, stream)] = rest
        if whole:
            self._publish(watcher, pid, stream, whole)

    def finish(self, watcher: str, pid: int, stream: str) -> None:
        rest = self._pending.pop((pid, stream), b"")
        if rest:
            self._publish(watcher, pid, stream, [rest])

    def _publish(self, watcher: str, pid: int, stream: str, lines: list[bytes]) -> None:
        budget = self._budgets.get(watcher)
        if budget is None:
            budget = self._budgets[watcher] = LineBudget(LINES_PER_S, BURST_LINES)
        dropped_before = budget.dropped
        granted = budget.take(len(lines), self._clock())
        if not granted:
            return
        budget.dropped -= dropped_before  # reported now; what this call refused is told next time
        texts = [line.decode("utf-8", "replace")[:MAX_LINE_CHARS] for line in lines[:granted]]
        self._send(
            output_topic(watcher, stream), output_payload(pid, time.time(), texts, dropped=dropped_before)
        )


class OutputTap:
    """Sits between a pipe's pump and its stream (the pump calls write and finish only)."""

    def __init__(self, lines: OutputLines, watcher: str, stream: Any) -> None:
        self._lines = lines
        self._watcher = watcher
        self._stream = stream

    def write(self, data: bytes, pid: int, name: str) -> None:
        try:
            self._lines.feed(self._watcher, pid, name, data)
        except Exception:  # the tail is a view: it must never cost the stream its bytes
            log.exception("%s: publishing output of pid %d failed", self._watcher, pid)
        self._stream.write(data, pid, name)

    def finish(self, pid: int, name: str) -> None:
        try:
            self._lines.finish(self._watcher, pid, name)
        except Exception:
            log.exception("%s: publishing output of pid %d failed", self._watcher, pid)
        self._stream.finish(pid, name)


class OutputTapper:
    """The daemon extension: while it runs, the arbiter taps every process's output through it."""

    def __init__(self, publisher: Any) -> None:  # runtime.publisher.EventPublisher
        self._lines = OutputLines(publisher.send, wanted=lambda: publisher.asked_for(OUTPUT_TOPIC_PREFIX))
        self._arbiter: Any = None

    def start(self, arbiter: Any) -> None:
        self._arbiter = arbiter
        arbiter.tap_output = self.tap

    def tap(self, watcher: str, stream: Any) -> OutputTap:
        return OutputTap(self._lines, watcher, stream)

    def stop(self) -> None:
        if self._arbiter is not None:
            self._arbiter.tap_output = None
