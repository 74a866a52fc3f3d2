"""HTTP/1.x request parsing on httptools: bytes in, `Request` heads and body chunks out.

Rule: the parser only turns bytes into requests and enforces `Limits`; it never reads a socket. The
connection decides when to feed it (only when it needs the next head or more of the current body), so
buffered data for pipelined requests never exceeds one read.
"""

from __future__ import annotations

from collections import deque

import httptools

from .environ import environ_key
from .errors import (
    BadRequest,
    HeaderFieldsTooLarge,
    HTTPError,
    PayloadTooLarge,
    URITooLong,
    VersionNotSupported,
)
from .limits import Limits

_METHODS: dict[bytes, str] = {}
_SUPPORTED_VERSIONS = frozenset(("1.0", "1.1"))


class Request:
    """One request: its head once complete, then its body as it arrives (already de-chunked).

    `headers` maps CGI names ('CONTENT_TYPE', 'HTTP_HOST') to values, duplicates joined as RFC 9110
    allows ('; ' for Cookie). Names with '_' are dropped: 'X_Forwarded_For' and 'X-Forwarded-For'
    would otherwise both become HTTP_X_FORWARDED_FOR and one could spoof the other.
    """

    __slots__ = (
        "body",
        "body_size",
        "chunked",
        "complete",
        "content_length",
        "expects_continue",
        "headers",
        "keep_alive",
        "method",
        "target",
        "upgrade",
        "version",
    )

    def __init__(self, method: str, target: bytes, version: str, headers: dict[str, str]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.keep_alive = False
        self.expects_continue = False
        self.content_length: int | None = None
        self.chunked = False
        self.upgrade = False
        self.body: deque[bytes] = deque()
        self.body_size = 0
        self.complete = False

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"{self.body_size} body bytes so far"
        return f"<Request {self.method} {self.target!r} HTTP/{self.version} {state}>"


class RequestParser:
    """Feeds bytes to one httptools parser per connection and queues complete request heads.

    `requests` holds heads in arrival order; the first is the one being served. Body bytes go to the
    request whose body is being received, which is the first one unless the client pipelines.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.requests: deque[Request] = deque()
        #: True after an Upgrade/CONNECT head: what follows is another protocol, never parsed here.
        self.upgraded = False
        #: True while a request head has started but not finished (slowloris territory).
        self.in_head = False
        #: An error in a pipelined request behind complete ones; raised once those are served.
        self.error: HTTPError | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._fields: dict[str, str] = {}
        self._field_count = 0
        self._head_bytes = 0
        self._receiving: Request | None = None

    def feed(self, data: bytes) -> None:
        """Parse `data`; raise an `HTTPError` subclass when the client sent something we refuse.

        An error in a request that follows complete ones is kept in `error` instead, so the requests
        before it are still served; it is raised by the next `feed`.
        """
        if self.error is not None:
            raise self.error
        if self.upgraded:
            return
        try:
            self._feed(data)
        except HTTPError as err:
            if self.requests and self.requests[-1].complete:
                self.error = err
                return
            raise
        if self.in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_head_bytes:
                raise HeaderFieldsTooLarge(f"request head exceeds {self.limits.max_head_bytes} bytes")

    def _feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, HTTPError):
                raise exc.__context__ from None
            raise
        except httptools.HttpParserUpgrade:
            self.upgraded = True
            if self.requests:
                self.requests[-1].upgrade = True
        except httptools.HttpParserError as exc:
            raise BadRequest(str(exc) or type(exc).__name__) from None

    # httptools callbacks -------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.in_head = True
        self._head_bytes = 0
        self._url = b""
        self._fields = {}
        self._field_count = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.limits.max_request_line:
            raise URITooLong(f"request target longer than {self.limits.max_request_line} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._field_count += 1
        limits = self.limits
        if self._field_count > limits.max_header_fields:
            raise HeaderFieldsTooLarge(f"more than {limits.max_header_fields} header fields")
        if len(name) + len(value) > limits.max_header_field_size:
            shown = name[:40].decode("latin-1")
            size = limits.max_header_field_size
            raise HeaderFieldsTooLarge(f"header field {shown!r} longer than {size} bytes")
        key = environ_key(name)
        if key is None:
            return
        text = value.rstrip(b" \t").decode("latin-1")
        fields = self._fields
        if key in fields:
            separator = "; " if key == "HTTP_COOKIE" else ","
            fields[key] = fields[key] + separator + text
        else:
            fields[key] = text

    def on_headers_complete(self) -> None:
        self.in_head = False
        parser = self._parser
        version = parser.get_http_version()
        if version not in _SUPPORTED_VERSIONS:
            raise VersionNotSupported(f"HTTP/{version}")
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method)
        if method is None:
            method = raw_method.decode("ascii")
            if len(_METHODS) < 64:
                _METHODS[raw_method] = method
        fields = self._fields
        request = Request(method, self._url, version, fields)
        request.keep_alive = parser.should_keep_alive()
        if fields:
            length = fields.get("CONTENT_LENGTH")
            if length is not None:
                request.content_length = int(length)  # httptools has checked it is digits
                max_body = self.limits.max_body_size
                if max_body and request.content_length > max_body:
                    raise PayloadTooLarge(f"Content-Length {length} exceeds {max_body} bytes")
            if "HTTP_TRANSFER_ENCODING" in fields:
                request.chunked = True
            expect = fields.get("HTTP_EXPECT")
            if expect is not None and version == "1.1" and expect.lower() == "100-continue":
                request.expects_continue = True
        self._receiving = request
        self.requests.append(request)

    def on_body(self, body: bytes) -> None:
        request = self._receiving
        if request is None:  # pragma: no cover - httptools only calls this between head and end
            return
        request.body.append(body)
        request.body_size += len(body)
        max_body = self.limits.max_body_size
        if max_body and request.body_size > max_body:
            raise PayloadTooLarge(f"request body exceeds {max_body} bytes")

    def on_message_complete(self) -> None:
        request = self._receiving
        if request is not None:
            request.complete = True
            self._receiving = None
