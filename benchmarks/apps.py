"""WSGI applications the HTTP benchmark serves: the same code for every server.

Rule: plain WSGI, no framework, so the figures measure the servers. `io10ms` sleeps through
`time.sleep`, which every gevent server under test has monkey-patched into a cooperative sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

HELLO = b"Hello, World!"
_HELLO_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))]
IO_DELAY_S = 0.010


def hello(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", list(_HELLO_HEADERS))
    return [HELLO]


def io10ms(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    """Waits 10 ms as a database or an upstream call would, then answers."""
    time.sleep(IO_DELAY_S)
    start_response("200 OK", list(_HELLO_HEADERS))
    return [HELLO]
