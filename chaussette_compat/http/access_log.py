"""Access log lines in the Common Log Format (times in UTC, month names in English whatever the locale).

Rule: one pure function per line; the timestamp text is cached per second because a busy worker
logs thousands of lines in the same second.
"""

from __future__ import annotations

import time

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clf_time(now: float) -> str:
    """'[10/Oct/2000:13:55:36 +0000]' for the UTC second containing `now`."""
    t = time.gmtime(now)
    month = _MONTHS[t.tm_mon - 1]
    return f"[{t.tm_mday:02d}/{month}/{t.tm_year:04d}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000]"


class TimestampCache:
    """`clf_time`, formatted at most once per second."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def text(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._text = clf_time(second)
        return self._text


def _quote(text: str) -> str:
    # a request line is client-controlled: keep the log one line per request and the quotes balanced
    if '"' in text or "\\" in text or not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return text


def common_log_line(
    remote_addr: str,
    method: str,
    target: str,
    protocol: str,
    status_code: int,
    body_bytes: int,
    timestamp: str,
    note: str = "",
) -> str:
    """'127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 2326\\n' ('-' for no body).

    `note` (why the server refused the request) follows in quotes when given."""
    size = str(body_bytes) if body_bytes else "-"
    request_line = _quote(f"{method} {target} {protocol}")
    why = f' "{_quote(note)}"' if note else ""
    return f'{remote_addr or "-"} - - {timestamp} "{request_line}" {status_code} {size}{why}\n'
