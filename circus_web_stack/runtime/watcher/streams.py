"""A watcher's stdout/stderr streams: opened at start, swapped by a config change, closed once the
pumps still writing to them have drained, so no process's last line is lost.

The rule: a stream that new processes no longer get stays open (and is reopened by a logrotate)
until every pump writing to it has ended, that is until its processes have exited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import gevent

from circus_web_stack.config.model import WatcherConfig
from circus_web_stack.runtime import streams
from circus_web_stack.runtime.streams.base import Stream
from circus_web_stack.runtime.tail import TailTap

STREAM_NAMES = ("stdout", "stderr")
# How long a stop waits for the pumps of exited processes to reach EOF (a descendant that still holds
# the pipe keeps it open: the stop goes on without its output).
DRAIN_WAIT_S = 5.0


def open_configured_streams(config: WatcherConfig, names: Iterable[str]) -> dict[str, Stream]:
    """The streams `config` names among `names`, opened; if one cannot be, none is left open."""
    opened: dict[str, Stream] = {}
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


def streams_changed(old: WatcherConfig, new: WatcherConfig) -> tuple[str, ...]:
    """The names of the streams `new` opens differently from `old`."""
    changed = [n for n in STREAM_NAMES if getattr(new, f"{n}_stream") != getattr(old, f"{n}_stream")]
    if "stderr" not in changed and new.close_child_stderr != old.close_child_stderr:
        changed.append("stderr")
    return tuple(changed)


class WatcherStreams:
    def __init__(self) -> None:
        self.current: dict[str, Stream] = {}
        self._pumps: dict[gevent.Greenlet, Stream] = {}  # each pump and the stream it writes to
        self._retired: set[Stream] = set()  # replaced, closed once their last pump ends

    def open(self, config: WatcherConfig) -> None:
        """Open the config's streams that are not open yet (all of them at start)."""
        wanted = [name for name in STREAM_NAMES if name not in self.current]
        self.current.update(open_configured_streams(config, wanted))

    def captures_stdout(self) -> bool:
        return "stdout" in self.current

    def connect(
        self,
        config: WatcherConfig,
        pid: int,
        stdout_fd: int | None,
        stderr_fd: int | None,
        tail: bytearray,
        tap: Callable[[Stream], Any],
    ) -> None:
        """Pump a new process's pipes into the current streams, through `tap` (the console's live tail,
        runtime/output_tap.py) and, for stderr, through its tail."""
        if stdout_fd is not None:
            stream = self._stream(config, "stdout")
            self._add_pump(streams.pump_pipe(stdout_fd, tap(stream), pid, "stdout"), stream)
        if stderr_fd is not None:
            stream = self._stream(config, "stderr")
            sink: Any = TailTap(tap(stream), tail)
            self._add_pump(streams.pump_pipe(stderr_fd, sink, pid, "stderr"), stream)

    def _stream(self, config: WatcherConfig, name: str) -> Stream:
        """Opened now if the config changed since the watcher started (close_child_stderr turned off)."""
        if name not in self.current:
            self.open(config)
        return self.current.get(name) or streams.InheritedStderr()

    def _add_pump(self, pump: gevent.Greenlet, stream: Stream) -> None:
        self._pumps[pump] = stream
        pump.link(lambda ended: self._pumps.pop(ended, None))

    def close_all(self) -> None:
        """Every process has exited: wait (at most DRAIN_WAIT_S) for the pumps to write what the
        processes wrote last, then close the streams. It waits here, before the watcher says it
        stopped, so that "stopped" means every line is in its stream."""
        pumps, self._pumps = list(self._pumps), {}
        gevent.joinall([p for p in pumps if not p.dead], timeout=DRAIN_WAIT_S)
        for stream in self.current.values():
            with contextlib.suppress(Exception):
                stream.close()
        self.current = {}

    def swap(self, names: tuple[str, ...], replacements: dict[str, Stream]) -> dict[str, Stream]:
        """Put `replacements` in place for `names`; the ones they replace (for the names that had one)."""
        replaced = {name: self.current.pop(name) for name in names if name in self.current}
        self.current.update(replacements)
        return replaced

    def close_when_unused(self, retired: dict[str, Stream]) -> None:
        """Close `retired` once the pumps writing to them have ended (their processes exited)."""
        for stream in retired.values():
            users = [pump for pump, target in self._pumps.items() if target is stream]
            self._retired.add(stream)
            gevent.spawn(self._close_after, stream, users)

    def _close_after(self, stream: Stream, pumps: list[gevent.Greenlet]) -> None:
        gevent.joinall(pumps)
        self._retired.discard(stream)
        with contextlib.suppress(Exception):
            stream.close()

    def reopen(self) -> None:
        for stream in [*self.current.values(), *self._retired]:
            stream.reopen()
