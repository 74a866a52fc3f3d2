"""Cutting a child's output into whole lines and decorating them. Pure: bytes in, bytes out.

The rule it keeps: a stream only ever receives whole lines from one source at a time, so output from
processes sharing a stream never interleaves mid-line; the only exception is a line longer than
MAX_LINE_BYTES, which is passed on in pieces so the daemon's memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

# How much of an unfinished line is held per (pid, stream name) before it is passed on anyway.
# 64 KiB covers tracebacks and JSON log records; a bigger bound would multiply by every process's
# stdout and stderr (200 sources x 1 MiB is already 200 MiB of daemon memory).
MAX_LINE_BYTES = 64 * 1024

NEWLINE = b"\n"


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes ready for a stream, and where they sit relative to line boundaries."""

    data: bytes
    starts_line: bool  # the first byte begins a line (so a line prefix belongs before it)
    ends_line: bool  # the last byte is the newline ending a line


class LineAssembler:
    """Holds the unfinished last line of one source (one pipe) until its newline arrives."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._max_line_bytes = max_line_bytes
        self._pending = b""
        self._at_line_start = True  # False after an over-long line was passed on in part

    @property
    def pending(self) -> bytes:
        return self._pending

    def feed(self, data: bytes) -> Piece | None:
        """Takes newly read bytes; returns the whole lines now complete, or None if there are none yet."""
        buffered = self._pending + data if self._pending else data
        cut = buffered.rfind(NEWLINE) + 1
        rest = buffered[cut:]
        if len(rest) > self._max_line_bytes:
            # Memory bound wins over line integrity: pass the over-long line on unfinished.
            piece = Piece(buffered, self._at_line_start, ends_line=False)
            self._pending = b""
            self._at_line_start = False
            return piece
        self._pending = rest
        if not cut:
            return None
        piece = Piece(buffered[:cut], self._at_line_start, ends_line=True)
        self._at_line_start = True
        return piece

    def finish(self) -> Piece | None:
        """At end of output: the unfinished last line, closed with a newline so the next writer of a
        shared stream starts on a line of its own; None if the output ended on a newline."""
        if not self._pending and self._at_line_start:
            return None
        piece = Piece(self._pending + NEWLINE, self._at_line_start, ends_line=True)
        self._pending = b""
        self._at_line_start = True
        return piece


def decorate_lines(piece: Piece, prefix: bytes, suffix: bytes = b"") -> bytes:
    """Puts `prefix` at the start of every line in `piece` and `suffix` before every newline.

    A piece continuing a line gets no prefix at its start; a piece ending mid-line gets no suffix at
    its end (both belong to the piece holding that line's start or end).
    """
    if not prefix and not suffix:
        return piece.data
    body = piece.data[:-1] if piece.ends_line else piece.data
    decorated = body.replace(NEWLINE, suffix + NEWLINE + prefix)
    if piece.starts_line:
        decorated = prefix + decorated
    if piece.ends_line:
        decorated += suffix + NEWLINE
    return decorated


def circus_line_prefix(time_text: str, pid: int) -> bytes:
    """Circus's per-line prefix for a stream with a time_format: `2024-05-01 12:00:00 [4121] | `."""
    return f"{time_text} [{pid}] | ".encode("utf-8", errors="replace")
