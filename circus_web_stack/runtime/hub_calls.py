"""Asking the daemon's gevent hub a question from another thread (the health probes', the metrics
endpoint's): the question runs on the hub, the thread waits for its answer against a deadline.

Rule: a question only reads (watcher objects are read, never changed) and must be quick; one that
fails or does not come back in time raises HubUnanswered in the asking thread, never on the hub.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("circus_web_stack.hub")


class HubUnanswered(Exception):
    """The hub did not answer in time, or answering failed; str() says which."""


def ask_hub(loop: Any, question: Callable[[], T], timeout_s: float) -> T:
    """Run `question()` on the hub whose loop is `loop` and wait for it in this thread."""
    answers: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def on_hub() -> None:
        try:
            answers.put_nowait((True, question()))
        except Exception as exc:  # a bug must fail the question, not the hub
            log.exception("answering a question from another thread failed")
            answers.put_nowait((False, exc))

    loop.run_callback_threadsafe(on_hub)
    try:
        ok, answer = answers.get(timeout=timeout_s)
    except queue.Empty:
        raise HubUnanswered(f"circusd's hub did not answer within {timeout_s:g}s") from None
    if not ok:
        raise HubUnanswered(f"answering failed: {answer}") from answer
    return answer
