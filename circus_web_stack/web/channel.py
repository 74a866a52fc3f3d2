"""The console's broadcast channel: every update once, numbered, kept in a bounded ring, shared by
every browser; a browser that reconnects asks for what followed the last number it saw.

Rule: a message is encoded once (the same bytes go to every browser); a browser whose number is no
longer in the ring, or was given by another run of circushttpd (the `epoch` in every id), is told to
reload its snapshot (`reset`), never sent a partial history.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import deque
from collections.abc import Iterator

import gevent
import gevent.event

RING_MESSAGES = 4000
HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing an idle stream


CURSOR = re.compile(r"(?P<epoch>[0-9a-f]{8})-(?P<seq>[0-9]+)")


def sse_frame(event_id: str, kind: str, data: dict) -> bytes:
    """One Server-Sent Event; JSON never holds a raw newline, so one data line carries it."""
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def parse_cursor(text: str) -> tuple[str, int]:
    """(epoch, seq) of an event id such as `1a2b3c4d-42`; ValueError saying what one looks like."""
    match = CURSOR.fullmatch(text)
    if match is None:
        raise ValueError(f"an event id is EPOCH-NUMBER as the stream sent it (1a2b3c4d-42), not {text!r}")
    return match["epoch"], int(match["seq"])


class Channel:
    def __init__(self, ring: int = RING_MESSAGES) -> None:
        self.epoch = secrets.token_hex(4)
        self.seq = 0
        self._ring: deque[tuple[int, bytes]] = deque(maxlen=ring)
        self._new = gevent.event.Event()

    def publish(self, kind: str, data: dict) -> None:
        self.seq += 1
        self._ring.append((self.seq, sse_frame(self.cursor, kind, data)))
        woken, self._new = self._new, gevent.event.Event()
        woken.set()

    @property
    def cursor(self) -> str:
        """The id of the last message: where a snapshot taken now stands in the stream."""
        return f"{self.epoch}-{self.seq}"

    def since(self, seq: int) -> list[bytes] | None:
        """The frames after `seq`, or None when some of them already left the ring."""
        if seq >= self.seq:
            return []
        if not self._ring or self._ring[0][0] > seq + 1:
            return None
        return [frame for number, frame in self._ring if number > seq]

    def follow(self, cursor: str, heartbeat_s: float = HEARTBEAT_S) -> Iterator[bytes]:
        """The stream one browser reads, from after `cursor` (an event id), forever (the server ends it
        when the browser goes)."""
        epoch, seq = parse_cursor(cursor)
        yield b"retry: 2000\n\n"
        while True:
            frames = self.since(seq) if epoch == self.epoch else None
            if frames is None:
                yield sse_frame(self.cursor, "reset", {})
                return
            if frames:
                seq = self.seq
                yield b"".join(frames)
                continue
            if not self._new.wait(heartbeat_s):
                yield b": keep-alive\n\n"
