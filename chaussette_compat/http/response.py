"""HTTP/1.1 response framing: status lines, header blocks, chunk encoding, canned error responses.

Rule: the server decides framing here, once per response, from plain values: Content-Length when it
is known (from the app, or because the whole body is already in hand), chunked for HTTP/1.1 clients
otherwise, and close-delimited for HTTP/1.0 clients. Responses that cannot have a body get none.
"""

from __future__ import annotations

import enum
from email.utils import formatdate

CRLF = b"\r\n"
LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_status_cache: dict[str, int] = {}
_HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "upgrade")
)


class Framing(enum.Enum):
    """How the end of a response body is marked."""

    LENGTH = "content-length"
    CHUNKED = "chunked"
    CLOSE = "close-delimited"
    NONE = "no body"


def status_code(status: str) -> int:
    """The numeric code of a WSGI status ('200 OK' -> 200); ValueError if it is not 3 digits + text."""
    try:
        return _status_cache[status]
    except KeyError:
        pass
    code_text = status[:3]
    if len(status) < 4 or status[3] != " " or not code_text.isdigit() or not 100 <= int(code_text) <= 999:
        raise ValueError(f"invalid WSGI status {status!r}: expected 3 digits, a space and a reason")
    if "\r" in status or "\n" in status:
        raise ValueError(f"invalid WSGI status {status!r}: contains a line break")
    code = int(code_text)
    if len(_status_cache) < 256:
        _status_cache[status] = code
    return code


def body_allowed(code: int, method: str) -> bool:
    """Whether a response with this code, to this method, carries a body (RFC 9110 6.4.1)."""
    return method != "HEAD" and code >= 200 and code != 204 and code != 304


class HeaderScan:
    """What the server needs to know from the app's headers; hop-by-hop headers are taken out.

    `content_length` is the app's Content-Length (None if absent); `close` is True when the app
    asked for `Connection: close`; `has_date` tells whether the app set Date itself.
    """

    __slots__ = ("close", "content_length", "has_date", "headers")

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers
        self.content_length: int | None = None
        self.close = False
        self.has_date = False
        kept: list[tuple[str, str]] | None = None
        for index, (name, value) in enumerate(headers):
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
                raise ValueError(f"invalid response header {name!r}: {value!r}")
            lowered = name.lower()
            if lowered == "content-length":
                self.content_length = int(value)
                if self.content_length < 0:
                    raise ValueError(f"negative Content-Length {value!r}")
            elif lowered == "date":
                self.has_date = True
            elif lowered in _HOP_BY_HOP or lowered == "transfer-encoding":
                # PEP 3333 forbids these from apps; the server owns framing and the connection.
                if lowered == "connection" and "close" in value.lower():
                    self.close = True
                if kept is None:
                    kept = list(headers[:index])
                continue
            if kept is not None:
                kept.append((name, value))
        if kept is not None:
            self.headers = kept


def choose_framing(
    code: int,
    method: str,
    http11: bool,
    app_length: int | None,
    known_length: int | None,
) -> tuple[Framing, int | None]:
    """Pick the framing and the Content-Length to announce (None: announce none).

    `app_length` is the app's Content-Length; `known_length` the body length when the server holds
    the whole body already (a list from the app), else None.
    """
    if not body_allowed(code, method):
        if method == "HEAD" and code >= 200 and code not in (204, 304):
            # a HEAD response announces the length the GET would have, when it is known
            length = app_length if app_length is not None else known_length
            return Framing.NONE, length
        return Framing.NONE, app_length if code == 304 else None
    if app_length is not None:
        return Framing.LENGTH, app_length
    if known_length is not None:
        return Framing.LENGTH, known_length
    if http11:
        return Framing.CHUNKED, None
    return Framing.CLOSE, None


def encode_head(
    status: str,
    headers: list[tuple[str, str]],
    framing: Framing,
    length: int | None,
    keep_alive: bool,
    http11: bool,
    date_line: str,
) -> bytes:
    """The status line and header block, ending with the blank line.

    `length` is a Content-Length to add (None when there is none, or the app's headers carry it).
    `date_line` is '' when the app set Date, else 'Date: ...\\r\\n'. Connection headers are only
    written where they change the default: close on HTTP/1.1, keep-alive on HTTP/1.0.
    """
    parts = ["HTTP/1.1 ", status, "\r\n"]
    for name, value in headers:
        parts.append(f"{name}: {value.strip()}\r\n")  # whitespace around a value is not part of it
    if length is not None:
        parts.append(f"Content-Length: {length}\r\n")
    elif framing is Framing.CHUNKED:
        parts.append("Transfer-Encoding: chunked\r\n")
    if not keep_alive:
        parts.append("Connection: close\r\n")
    elif not http11:
        parts.append("Connection: keep-alive\r\n")
    parts.append(date_line)
    parts.append("\r\n")
    return "".join(parts).encode("latin-1")


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (never call with b'': that is the last-chunk marker)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


class DateCache:
    """The Date header line, formatted at most once per second."""

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = ""

    def line(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._line = f"Date: {formatdate(second, usegmt=True)}\r\n"
        return self._line


def error_response(status: str, date_line: str, detail: str = "") -> bytes:
    """A complete plain-text response for a request the server refuses; it always closes."""
    body = (status + ("\n" + detail if detail else "") + "\n").encode("latin-1", "replace")
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{date_line}\r\n"
    )
    return head.encode("latin-1") + body
