"""The console's broadcast channel: every update once, numbered, kept in a bounded ring, shared by
every browser; a browser that reconnects asks for what followed the last number it saw.

Rule: a message is encoded once (the same bytes go to every browser); a browser whose number is no
longer in the ring is told to reload its snapshot (`reset`), never sent a partial history.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator

import gevent
import gevent.event

RING_MESSAGES = 4000
HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing an idle stream


def sse_frame(seq: int, kind: str, data: dict) -> bytes:
    """One Server-Sent Event; JSON never holds a raw newline, so one data line carries it."""
    return f"id: {seq}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Channel:
    def __init__(self, ring: int = RING_MESSAGES) -> None:
        self.seq = 0
        self._ring: deque[tuple[int, bytes]] = deque(maxlen=ring)
        self._new = gevent.event.Event()

    def publish(self, kind: str, data: dict) -> None:
        self.seq += 1
        self._ring.append((self.seq, sse_frame(self.seq, kind, data)))
        woken, self._new = self._new, gevent.event.Event()
        woken.set()

    def since(self, seq: int) -> list[bytes] | None:
        """The frames after `seq`, or None when some of them already left the ring."""
        if seq >= self.seq:
            return []
        if not self._ring or self._ring[0][0] > seq + 1:
            return None
        return [frame for number, frame in self._ring if number > seq]

    def follow(self, seq: int, heartbeat_s: float = HEARTBEAT_S) -> Iterator[bytes]:
        """The stream one browser reads, from after `seq`, forever (the server ends it on disconnect)."""
        yield b"retry: 2000\n\n"
        while True:
            frames = self.since(seq)
            if frames is None:
                yield sse_frame(self.seq, "reset", {})
                return
            if frames:
                seq = self.seq
                yield b"".join(frames)
                continue
            if not self._new.wait(heartbeat_s):
                yield b": keep-alive\n\n"
