"""A token bucket of lines per second: how many output lines a watcher may publish now.

Pure: the caller passes `now` (monotonic seconds). Lines past the budget are counted, not queued, so a
chatty worker costs the daemon a bounded amount of publishing whatever it writes.
"""

from __future__ import annotations


class LineBudget:
    def __init__(self, lines_per_s: float, burst: int) -> None:
        self.lines_per_s = lines_per_s
        self.burst = burst
        self._tokens = float(burst)
        self._at: float | None = None
        self.dropped = 0  # lines refused since the last take() that let some through

    def take(self, wanted: int, now: float) -> int:
        """How many of `wanted` lines may go now (the first ones); the rest add to `dropped`."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.lines_per_s)
        self._at = now
        granted = min(wanted, int(self._tokens))
        self._tokens -= granted
        self.dropped += wanted - granted
        return granted
