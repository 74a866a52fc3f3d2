"""The RFC 9110/9112 rules on a request head that every backend applies; each refusal names its section.

Rule: pure functions of the parsed pieces (method, target, version, field lines and values) that raise an
`HTTPError` whose reason says what was wrong and where the RFC says so. The gevent parser calls them as
llhttp reports the head; the waitress and wsgiref backends call `check_raw_head` from their parsers' hooks.
Strict where the RFCs say MUST, lenient only where they say MAY (as h11 is).
"""

from __future__ import annotations

import re

from .errors import BadRequest, HeaderFieldsTooLarge, NotImplementedByServer, URITooLong, VersionNotSupported
from .limits import Limits

#: RFC 9110 5.6.2: token = 1*tchar
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SCHEME = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*")
#: RFC 3986 host [":" port]: an IP-literal, or a reg-name / IPv4address (an empty Host is allowed, 9110 7.2).
_HOST = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)"
    rb"(?::[0-9]*)?"
)
#: RFC 9112 5.1: field-line = field-name ":" OWS field-value OWS; a value has no CTL but HTAB (9110 5.5).
FIELD_LINE = re.compile(
    rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e\x80-\xff]|[ \t]+(?=[^ \t]))*)[ \t]*"
)
_CODINGS_WE_DECODE = ("chunked",)
SUPPORTED_VERSIONS = frozenset(("1.0", "1.1"))
_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e\x80-\xff]+ HTTP/[0-9]\.[0-9]")
#: The start of a request line that has not fully arrived yet.
_REQUEST_LINE_START = re.compile(
    rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?: [\x21-\x7e\x80-\xff]*(?: H?T?T?P?/?[0-9]?\.?)?)?"
)


def check_field_count(count: int, limits: Limits) -> None:
    if count > limits.max_header_fields:
        raise HeaderFieldsTooLarge(f"more than {limits.max_header_fields} header fields (RFC 6585 5)")


def check_field_size(name: bytes, value: bytes, limits: Limits) -> None:
    if len(name) + len(value) > limits.max_header_field_size:
        shown = name[:40].decode("latin-1")
        size = limits.max_header_field_size
        raise HeaderFieldsTooLarge(f"header field {shown!r} longer than {size} bytes (RFC 6585 5)")


def check_version(version: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise VersionNotSupported(
            f"HTTP/{version[:10]}: this server speaks HTTP/1.0 and HTTP/1.1 (RFC 9110 2.5)"
        )


def check_target_size(target: bytes, limits: Limits) -> None:
    if len(target) > limits.max_request_line:
        raise URITooLong(f"request target longer than {limits.max_request_line} bytes (RFC 9112 3)")


def absolute_authority(target: bytes) -> bytes:
    """host[:port] of an absolute-form target (RFC 9112 3.2.2); BadRequest when it is malformed."""
    scheme, sep, rest = target.partition(b"://")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise BadRequest(
            f"request target {target[:60]!r} is in no valid form: origin-form starts with '/', "
            "absolute-form is scheme://host[:port][/path] (RFC 9112 3.2)"
        )
    end = len(rest)
    for stop in (b"/", b"?", b"#"):
        found = rest.find(stop)
        if 0 <= found < end:
            end = found
    authority = rest[:end]
    if b"@" in authority:
        raise BadRequest("absolute-form target with userinfo ('user@host'): invalid (RFC 9110 4.2.4)")
    if not authority or authority[:1] == b":" or not _HOST.fullmatch(authority):
        raise BadRequest(f"absolute-form target {target[:60]!r} has no valid host (RFC 9110 4.2.1)")
    return authority


def check_target(method: str, target: bytes) -> None:
    """The target's form must suit the method (RFC 9112 3.2): origin, absolute, authority, asterisk."""
    if target[:1] == b"/":
        return
    if target == b"*":
        if method != "OPTIONS":
            raise BadRequest(
                f"asterisk-form target '*' with {method}: only OPTIONS may use it (RFC 9112 3.2.4)"
            )
        return
    if method == "CONNECT":
        host, colon, port = target.rpartition(b":")
        if not colon or not host or not port.isdigit() or b"@" in host or not _HOST.fullmatch(target):
            raise BadRequest(
                f"CONNECT needs an authority-form target host:port, not {target[:60]!r} (RFC 9112 3.2.3)"
            )
        return
    absolute_authority(target)


def check_host(version: str, host: str | None) -> None:
    """RFC 9112 3.2: an HTTP/1.1 request has a Host, with a valid value (duplicates: `duplicate_host`)."""
    if host is None:
        if version == "1.1":
            raise BadRequest("HTTP/1.1 request without a Host header field (RFC 9112 3.2)")
        return
    if not _HOST.fullmatch(host.encode("latin-1")):
        raise BadRequest(f"invalid Host header field value {host[:60]!r} (RFC 9112 3.2)")


def duplicate_host() -> BadRequest:
    return BadRequest("more than one Host header field line (RFC 9112 3.2)")


def check_transfer_encoding(version: str, value: str, has_content_length: bool) -> None:
    """Transfer-Encoding framing: chunked, last and once; only on HTTP/1.1; never with Content-Length."""
    if version != "1.1":
        raise BadRequest(
            f"Transfer-Encoding in an HTTP/{version} request: faulty framing, connection closed "
            "(RFC 9112 6.1)"
        )
    if has_content_length:
        raise BadRequest(
            "both Transfer-Encoding and Content-Length: ambiguous framing, connection closed (RFC 9112 6.3)"
        )
    codings = [coding.strip(" \t").lower() for coding in value.split(",")]
    if codings[-1] != "chunked":
        raise BadRequest(
            f"Transfer-Encoding {value[:60]!r}: chunked must be the final coding (RFC 9112 6.3, 7)"
        )
    if codings.count("chunked") > 1:
        raise BadRequest(f"Transfer-Encoding {value[:60]!r}: chunked applied twice (RFC 9112 7)")
    for coding in codings[:-1]:
        if coding not in _CODINGS_WE_DECODE:
            raise NotImplementedByServer(f"transfer coding {coding[:40]!r} is not implemented (RFC 9112 6.1)")


def unknown_method(request_start: bytes) -> BadRequest | NotImplementedByServer:
    """The error for a request line whose method the parser does not know: 501 when the line is
    `token SP target SP HTTP-version` (RFC 9110 9.1: methods are tokens, an unrecognised one gets 501),
    400 when it is no request line at all. `request_start` is the request's first bytes (maybe partial)."""
    line, crlf, _ = request_start.partition(b"\r\n")
    shape = _REQUEST_LINE if crlf else _REQUEST_LINE_START
    if shape.fullmatch(line):
        method = line.partition(b" ")[0][:40].decode("latin-1")
        return NotImplementedByServer(f"method {method!r} is not implemented (RFC 9110 9.1)")
    return BadRequest(f"request line {line[:60]!r} is not 'method target HTTP/x.y' (RFC 9112 3)")


def check_request_line(line: bytes, limits: Limits) -> tuple[str, bytes, str]:
    """`method SP target SP HTTP/x.y` (RFC 9112 3) -> (method, target, version 'x.y')."""
    method, _, rest = line.partition(b" ")
    target, _, version_text = rest.rpartition(b" ")
    check_target_size(target or rest, limits)
    if not _REQUEST_LINE.fullmatch(line):
        raise BadRequest(f"request line {line[:60]!r} is not 'method target HTTP/x.y' (RFC 9112 3)")
    version = version_text[5:].decode("latin-1")
    check_version(version)
    return method.decode("latin-1"), target, version


def check_raw_head(head: bytes, limits: Limits, *, decodes_chunked: bool = True) -> None:
    """Check a whole head (request line and field lines, without the final blank line) the way the gevent
    parser does, for backends whose own parser is more lenient (waitress, wsgiref). A backend that
    cannot decode a chunked body says so with `decodes_chunked=False`: such a request then gets 501."""
    while head.endswith(b"\r\n"):  # waitress hands the head with its last line's CRLF
        head = head[:-2]
    request_line, _, fields = head.partition(b"\r\n")
    method_text, target, version = check_request_line(request_line, limits)
    host: str | None = None
    transfer_encoding: str | None = None
    content_lengths: set[bytes] = set()
    for count, line in enumerate(fields.split(b"\r\n") if fields else (), start=1):
        if line[:1] in (b" ", b"\t"):
            raise BadRequest("obs-fold (a field line continued on the next line): refused (RFC 9112 5.2)")
        match = FIELD_LINE.fullmatch(line)
        if match is None:
            raise BadRequest(f"malformed field line {line[:60]!r} (RFC 9112 5.1, RFC 9110 5.5)")
        name, value = match.group(1, 2)
        check_field_count(count, limits)
        check_field_size(name, value, limits)
        lowered = name.lower()
        if lowered == b"host":
            if host is not None:
                raise duplicate_host()
            host = value.decode("latin-1")
        elif lowered == b"transfer-encoding":
            text = value.decode("latin-1")
            transfer_encoding = text if transfer_encoding is None else f"{transfer_encoding},{text}"
        elif lowered == b"content-length":
            if not value.isdigit():
                raise BadRequest(f"Content-Length {value[:40]!r} is not a number of bytes (RFC 9110 8.6)")
            content_lengths.add(value.lstrip(b"0"))
            if len(content_lengths) > 1:
                raise BadRequest("Content-Length field lines that differ (RFC 9110 8.6, RFC 9112 6.3)")
    check_target(method_text, target)
    check_host(version, host)
    if transfer_encoding is not None:
        check_transfer_encoding(version, transfer_encoding, bool(content_lengths))
        if not decodes_chunked:
            raise NotImplementedByServer(
                "Transfer-Encoding: chunked request bodies are not implemented by this backend "
                "(--backend gevent and waitress decode them) (RFC 9112 6.1)"
            )
