"""The chunked transfer coding of a request body (RFC 9112 7.1), decoded incrementally.

Rule: bytes in, body pieces out, the count of bytes consumed returned, so whatever follows the last
chunk (a pipelined request) stays with the caller. Chunk extensions are accepted with the whitespace the
grammar allows and ignored (7.1.1); trailer fields are checked and discarded, never merged into the
header section (RFC 9110 6.5.1). Anything off the grammar is a 400: the framing is in doubt.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import BadRequest
from .limits import Limits
from .rules import FIELD_LINE, check_field_count, check_field_size

_QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
#: chunk-size [ chunk-ext ] with chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )
_SIZE_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[ \t]*"
    + _TOKEN
    + rb"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN
    + rb"|"
    + _QUOTED
    + rb"))?)*[ \t]*"
)
#: The longest chunk-size line (size and extensions) we read before refusing it.
MAX_SIZE_LINE = 4096

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkedDecoder:
    """One chunked body; `done` once the last chunk and the trailer section have been read."""

    __slots__ = ("_left", "_line", "_state", "_trailer_fields", "limits")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._state = _SIZE
        self._left = 0
        self._line = b""
        self._trailer_fields = 0

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes, emit: Callable[[bytes], None]) -> int:
        """Decode from `data`, passing body pieces to `emit`; the number of bytes of `data` used."""
        used = 0
        size = len(data)
        while used < size and self._state != _DONE:
            state = self._state
            if state == _DATA:
                take = min(self._left, size - used)
                emit(data[used : used + take] if take < size else data)
                used += take
                self._left -= take
                if not self._left:
                    self._state = _DATA_END
                    self._line = b""
                continue
            line_end = data.find(b"\n", used)
            if line_end < 0:
                self._line += data[used:]
                used = size
                self._check_line_length()
                continue
            line = self._line + data[used : line_end + 1]
            used = line_end + 1
            self._line = b""
            if not line.endswith(b"\r\n"):
                raise BadRequest("bare LF in a chunked body: lines end with CRLF (RFC 9112 7.1)")
            self._line_done(state, line[:-2])
        self._check_line_length()
        return used

    def _check_line_length(self) -> None:
        if len(self._line) > MAX_SIZE_LINE:
            raise BadRequest(f"chunk-size or trailer line longer than {MAX_SIZE_LINE} bytes (RFC 9112 7.1)")

    def _line_done(self, state: int, line: bytes) -> None:
        if state == _SIZE:
            match = _SIZE_LINE.fullmatch(line)
            if match is None:
                raise BadRequest(f"invalid chunk-size line {line[:60]!r} (RFC 9112 7.1)")
            self._left = int(match.group(1), 16)
            self._state = _DATA if self._left else _TRAILER
        elif state == _DATA_END:
            if line:
                raise BadRequest("chunk data longer than its chunk-size (RFC 9112 7.1)")
            self._state = _SIZE
        elif not line:  # _TRAILER: the blank line ends the message
            self._state = _DONE
        else:
            match = FIELD_LINE.fullmatch(line)
            if match is None:
                raise BadRequest(f"malformed trailer field line {line[:60]!r} (RFC 9112 7.1.2)")
            self._trailer_fields += 1
            check_field_count(self._trailer_fields, self.limits)
            check_field_size(match.group(1), match.group(2), self.limits)
