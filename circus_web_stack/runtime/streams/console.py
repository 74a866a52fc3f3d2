"""Streams to the daemon's own stdout: StdoutStream (as is) and FancyStdoutStream (coloured, timestamped).

The rule it keeps: bytes go to fd 1 unbuffered from an I/O thread, so a slow terminal or a full pipe to
journald slows the children writing to it, never the daemon's hub.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import ClassVar

from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.lines import Piece, circus_line_prefix, decorate_lines
from circus_web_stack.runtime.streams.base import Stream, checked_time_format, write_all
from circus_web_stack.runtime.streams.options import as_optional_str

STDOUT_FD = 1
STDERR_FD = 2


class StdoutStream(Stream):
    """Writes the children's output unchanged to the daemon's stdout."""

    OPTIONS: ClassVar = {}

    def __init__(self) -> None:
        super().__init__(time_format=None)

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        write_all(STDOUT_FD, data)


class InheritedStderr(Stream):
    """Where a child's stderr goes when no stderr_stream is configured: the daemon's own stderr, as
    if inherited. The daemon reads it anyway so that it can quote a failed process's last lines."""

    OPTIONS: ClassVar = {}

    def __init__(self) -> None:
        super().__init__(time_format=None)

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        write_all(STDERR_FD, data)


# ANSI colour numbers, in escape-sequence order (30 + n), as Circus lists them.
COLORS = ("red", "green", "yellow", "blue", "magenta", "cyan", "white")
_RESET = b"\x1b[0m"


class FancyStdoutStream(StdoutStream):
    """Writes each line as `<colour>time [pid] | line<reset>` to the daemon's stdout.

    Without `color`, streams take the colours in turn (Circus picked one at random), so watchers
    started together look different.
    """

    OPTIONS: ClassVar = {"color": as_optional_str, "time_format": as_optional_str}
    _next_color: ClassVar = itertools.cycle(COLORS)

    def __init__(self, color: str | None = None, time_format: str | None = None) -> None:
        super().__init__()
        if color is None:
            color = next(self._next_color)
        if color not in COLORS:
            raise ConfigError(f"{color!r} is not a colour; use one of {', '.join(COLORS)}", option="color")
        self.color = color
        self.time_format = checked_time_format(time_format or "%Y-%m-%d %H:%M:%S")
        self._color_code = f"\x1b[0;3{COLORS.index(color) + 1};40m".encode()

    def _describe(self) -> str:
        return f" {self.color}"

    def _format(self, piece: Piece, pid: int) -> bytes:
        assert self.time_format is not None
        prefix = self._color_code + circus_line_prefix(datetime.now().strftime(self.time_format), pid)
        return decorate_lines(piece, prefix, _RESET)
