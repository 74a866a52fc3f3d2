"""HTTP/1.x request parsing on httptools: bytes in, `Request` heads and body chunks out.

Rule: the parser only turns bytes into requests and enforces `Limits` and the RFC rules (`rules.py`); it
never reads a socket. llhttp parses request heads and Content-Length bodies; a chunked body is decoded by
`ChunkedDecoder` (llhttp refuses the whitespace RFC 9112 7.1.1 allows, and reports trailers as header
fields), so llhttp is fed exactly one head at a time and a fresh llhttp parser follows a chunked body.
The connection decides when to feed (only when it needs the next head or more of the current body), so
buffered data for pipelined requests never exceeds one read.
"""

from __future__ import annotations

from collections import deque

import httptools

from . import rules
from .chunked import ChunkedDecoder
from .errors import (
    BadRequest,
    HeaderFieldsTooLarge,
    HTTPError,
    PayloadTooLarge,
)
from .header_names import environ_key
from .limits import Limits

_METHODS: dict[bytes, str] = {}
_HEAD_END = b"\r\n\r\n"
_CR_LF = (13, 10)
#: Host values already found valid (most requests repeat a handful); bounded like the other caches.
_valid_hosts: set[str] = set()
_CACHE_LIMIT = 256


class Request:
    """One request: its head once complete, then its body as it arrives (already de-chunked).

    `headers` maps CGI names ('CONTENT_TYPE', 'HTTP_HOST') to values, duplicates joined as RFC 9110
    allows ('; ' for Cookie); a second Host is refused. Names with '_' are dropped: 'X_Forwarded_For'
    and 'X-Forwarded-For' would otherwise both become HTTP_X_FORWARDED_FOR and one could spoof the other.
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
        self._chunked: ChunkedDecoder | None = None
        #: The last bytes of a head still in progress (its end, CRLF CRLF, may straddle two reads).
        self._head_tail = b""
        #: The first bytes of the request being parsed, to name an unknown method.
        self._start = b""

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
            if (
                self._receiving is None
                and not self.in_head
                and data.find(_HEAD_END) == len(data) - 4
                and data[0] not in _CR_LF
            ):
                # the common case, one whole head and nothing else (no body): straight to llhttp
                self._start = data
                self._feed(data)
                if self._receiving is None:
                    return
                data = b""  # its head said a body follows: nothing of it is in `data`
            self._parse(data)
        except HTTPError as err:
            if self.requests and self.requests[-1].complete:
                self.error = err
                return
            raise

    def _parse(self, data: bytes) -> None:
        """Hand llhttp one head at a time; bodies to llhttp (Content-Length) or `ChunkedDecoder`."""
        while data:
            request = self._receiving
            if request is not None:
                decoder = self._chunked
                if decoder is not None:
                    used = decoder.feed(data, self._append_body)
                    if decoder.done:
                        self._end_chunked(request)
                else:
                    assert request.content_length is not None  # else llhttp completed it with its head
                    used = request.content_length - request.body_size
                    if used >= len(data):
                        self._feed(data)
                        return
                    self._feed(data[:used])
                data = data[used:]
                continue
            if self.upgraded:
                return
            if not self.in_head:
                if data[0] in _CR_LF:  # empty lines before a request line (RFC 9112 2.2)
                    data = data.lstrip(b"\r\n")
                    if not data:
                        return
                self._head_tail = b""
                self._start = data  # (not a copy) only read if llhttp refuses the method
            tail = self._head_tail
            end = (tail + data).find(_HEAD_END) if tail else data.find(_HEAD_END)
            if end < 0:
                self._feed(data)
                self._head_tail = (tail + data)[-3:]
                self._head_bytes += len(data)
                if self.in_head and self._head_bytes > self.limits.max_head_bytes:
                    raise HeaderFieldsTooLarge(f"request head exceeds {self.limits.max_head_bytes} bytes")
                return
            end += 4 - len(tail)  # past the CRLF CRLF
            if tail:
                self._head_tail = b""
            if end == len(data):
                self._feed(data)
                return
            self._feed(data[:end])
            data = data[end:]

    def _end_chunked(self, request: Request) -> None:
        request.complete = True
        self._receiving = None
        self._chunked = None
        self._parser = httptools.HttpRequestParser(self)  # the old one still waits for the chunks

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
        except httptools.HttpParserInvalidMethodError:
            raise rules.unknown_method(self._start) from None
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
        if len(self._url) > self.limits.max_request_line:  # compared here first: the hot path
            rules.check_target_size(self._url, self.limits)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._field_count += 1
        limits = self.limits
        if self._field_count > limits.max_header_fields:  # compared here first: the hot path
            rules.check_field_count(self._field_count, limits)
        if len(name) + len(value) > limits.max_header_field_size:
            rules.check_field_size(name, value, limits)
        key = environ_key(name)
        if key is None:
            return
        text = value.rstrip(b" \t").decode("latin-1")
        fields = self._fields
        if key in fields:
            if key == "HTTP_HOST":
                raise rules.duplicate_host()
            separator = "; " if key == "HTTP_COOKIE" else ","
            fields[key] = fields[key] + separator + text
        else:
            fields[key] = text

    def on_headers_complete(self) -> None:
        self.in_head = False
        parser = self._parser
        version = parser.get_http_version()
        if version not in rules.SUPPORTED_VERSIONS:
            rules.check_version(version)
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method)
        if method is None:
            method = raw_method.decode("ascii")
            if len(_METHODS) < 64:
                _METHODS[raw_method] = method
        fields = self._fields
        url = self._url
        if url[:1] != b"/":
            rules.check_target(method, url)
        host = fields.get("HTTP_HOST")
        if host not in _valid_hosts:
            rules.check_host(version, host)
            if host is not None and len(_valid_hosts) < _CACHE_LIMIT:
                _valid_hosts.add(host)
        request = Request(method, url, version, fields)
        request.keep_alive = parser.should_keep_alive()
        if fields:
            length = fields.get("CONTENT_LENGTH")
            transfer_encoding = fields.get("HTTP_TRANSFER_ENCODING")
            if transfer_encoding is not None:
                rules.check_transfer_encoding(version, transfer_encoding, length is not None)
                request.chunked = True
                self._chunked = ChunkedDecoder(self.limits)
            elif length is not None:
                request.content_length = int(length)  # httptools has checked it is digits
                max_body = self.limits.max_body_size
                if max_body and request.content_length > max_body:
                    raise PayloadTooLarge(f"Content-Length {length} exceeds {max_body} bytes")
            expect = fields.get("HTTP_EXPECT")
            if expect is not None and version == "1.1" and expect.lower() == "100-continue":
                request.expects_continue = True
        self._receiving = request
        self.requests.append(request)

    def on_body(self, body: bytes) -> None:
        self._append_body(body)

    def _append_body(self, body: bytes) -> None:
        request = self._receiving
        if request is None:  # pragma: no cover - only called between a head and its end
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
