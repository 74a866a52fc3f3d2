"""Bounded waits for tests: poll a condition against one monotonic deadline, never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    pass


def wait_until(
    condition: Callable[[], T], timeout: float = 5.0, what: str = "condition", interval: float = 0.01
) -> T:
    """Return the first truthy value of `condition()`, or fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")
        time.sleep(interval)
        last = condition()
    return last
