"""RequestParser: bytes in, Request heads and bodies out, limits enforced; no sockets."""

from __future__ import annotations

import pytest

from chaussette_compat.http.errors import (
    BadRequest,
    HeaderFieldsTooLarge,
    PayloadTooLarge,
    URITooLong,
    VersionNotSupported,
)
from chaussette_compat.http.limits import Limits
from chaussette_compat.http.parser import RequestParser


def parse(*pieces: bytes, limits: Limits | None = None) -> RequestParser:
    parser = RequestParser(limits or Limits())
    for piece in pieces:
        parser.feed(piece)
    return parser


def test_simple_get_head():
    parser = parse(b"GET /a?b=1 HTTP/1.1\r\nHost: example\r\nUser-Agent: t\r\n\r\n")
    (request,) = parser.requests
    assert (request.method, request.target, request.version) == ("GET", b"/a?b=1", "1.1")
    assert request.headers == {"HTTP_HOST": "example", "HTTP_USER_AGENT": "t"}
    assert request.keep_alive and request.complete and not request.chunked
    assert not parser.in_head


def test_head_split_over_many_feeds_tracks_in_head():
    parser = RequestParser(Limits())
    raw = b"GET /split HTTP/1.1\r\nHost: x\r\n\r\n"
    for index in range(len(raw) - 1):
        parser.feed(raw[index : index + 1])
        assert parser.in_head and not parser.requests
    parser.feed(raw[-1:])
    assert parser.requests[0].target == b"/split"


def test_pipelined_requests_queue_in_order():
    parser = parse(
        b"GET /1 HTTP/1.1\r\nHost: t\r\n"
        b"\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\nGET /3 HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    assert [request.target for request in parser.requests] == [b"/1", b"/2", b"/3"]


def test_content_length_body_arrives_in_pieces():
    parser = parse(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\nhello"
    )
    request = parser.requests[0]
    assert request.content_length == 10 and not request.complete
    assert request.headers["CONTENT_TYPE"] == "text/plain"
    assert request.headers["CONTENT_LENGTH"] == "10"
    parser.feed(b"world")
    assert b"".join(request.body) == b"helloworld" and request.complete


def test_chunked_body_is_dechunked():
    parser = parse(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        b"2;x=y\r\nde\r\n0\r\n\r\n",
    )
    request = parser.requests[0]
    assert request.chunked and request.content_length is None
    assert b"".join(request.body) == b"abcde" and request.complete


def test_duplicate_headers_are_joined_and_cookies_with_semicolons():
    parser = parse(
        b"GET / HTTP/1.1\r\nHost: t\r\nAccept: a\r\nAccept: b\r\nCookie: x=1\r\nCookie: y=2\r\n\r\n"
    )
    headers = parser.requests[0].headers
    assert headers["HTTP_ACCEPT"] == "a,b"
    assert headers["HTTP_COOKIE"] == "x=1; y=2"


def test_header_names_with_underscores_are_dropped():
    parser = parse(b"GET / HTTP/1.1\r\nHost: t\r\nX_Forwarded_For: 1.2.3.4\r\nX-Ok: yes\r\n\r\n")
    assert parser.requests[0].headers == {"HTTP_HOST": "t", "HTTP_X_OK": "yes"}


def test_trailing_whitespace_is_trimmed_from_values():
    parser = parse(b"GET / HTTP/1.1\r\nHost: t\r\nX-Pad:   value \t \r\n\r\n")
    assert parser.requests[0].headers["HTTP_X_PAD"] == "value"


def test_latin1_values_survive():
    parser = parse(b"GET / HTTP/1.1\r\nHost: t\r\nX-Name: caf\xe9\r\n\r\n")
    assert parser.requests[0].headers["HTTP_X_NAME"] == "café"


@pytest.mark.parametrize(
    ("raw", "keep_alive"),
    [
        (b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
    ],
)
def test_keep_alive_follows_version_and_connection_header(raw, keep_alive):
    assert parse(raw).requests[0].keep_alive is keep_alive


def test_expect_100_continue_only_for_http11():
    assert (
        parse(b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
        .requests[0]
        .expects_continue
    )
    assert (
        not parse(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
        .requests[0]
        .expects_continue
    )


def test_upgrade_marks_the_request_and_stops_parsing():
    parser = parse(
        b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x05hello"
    )
    assert parser.upgraded and parser.requests[0].upgrade
    parser.feed(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # another protocol now: ignored
    assert len(parser.requests) == 1


def test_request_target_over_the_limit_is_414():
    limits = Limits(max_request_line=100)
    parse(b"GET /" + b"a" * 99 + b" HTTP/1.1\r\nHost: t\r\n\r\n", limits=limits)
    with pytest.raises(URITooLong):
        parse(b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: t\r\n\r\n", limits=limits)


def test_too_many_fields_is_431():
    limits = Limits(max_header_fields=3)
    parse(b"GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\n\r\n", limits=limits)
    with pytest.raises(HeaderFieldsTooLarge):
        parse(b"GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits=limits)


def test_field_over_the_size_limit_is_431():
    limits = Limits(max_header_field_size=20)
    parse(b"GET / HTTP/1.1\r\nHost: t\r\nName: " + b"v" * 16 + b"\r\n\r\n", limits=limits)
    with pytest.raises(HeaderFieldsTooLarge):
        parse(b"GET / HTTP/1.1\r\nHost: t\r\nName: " + b"v" * 17 + b"\r\n\r\n", limits=limits)


def test_endless_header_line_is_431_once_past_the_head_bound():
    limits = Limits(max_request_line=100, max_header_fields=2, max_header_field_size=100)
    parser = RequestParser(limits)
    parser.feed(b"GET / HTTP/1.1\r\nHost: t\r\nX: ")
    with pytest.raises(HeaderFieldsTooLarge):
        for _ in range(limits.max_head_bytes // 1000 + 2):
            parser.feed(b"v" * 1000)


def test_head_bound_counts_only_while_a_head_is_incomplete():
    limits = Limits(max_request_line=100, max_header_fields=2, max_header_field_size=100)
    parser = RequestParser(limits)
    many = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * (limits.max_head_bytes // 18 + 10)
    parser.feed(many)  # lots of complete heads in one read is not an oversized head
    assert len(parser.requests) > 100


def test_content_length_over_max_body_is_413_at_the_head():
    with pytest.raises(PayloadTooLarge):
        parse(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n", limits=Limits(max_body_size=10))


def test_chunked_body_over_max_is_413_when_it_gets_there():
    parser = parse(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n",
        limits=Limits(max_body_size=8),
    )
    with pytest.raises(PayloadTooLarge):
        parser.feed(b"5\r\n67890\r\n")


def test_zero_max_body_means_unlimited():
    parser = parse(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n", limits=Limits(max_body_size=0)
    )
    assert parser.requests[0].content_length == 99999999999


@pytest.mark.parametrize(
    "raw",
    [
        b"BROKEN\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nNo Colon Here\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET / HTTP/1.1\nHost: lf-only\n\n",
        b"GET /\x00 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ],
)
def test_malformed_requests_are_400(raw):
    with pytest.raises(BadRequest):
        parse(raw)


def test_http2_version_is_505():
    with pytest.raises(VersionNotSupported):
        parse(b"GET / HTTP/2.0\r\n\r\n")


def test_method_strings_are_cached_but_bounded():
    parser = parse(b"PROPFIND / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert parser.requests[0].method == "PROPFIND"


def test_error_in_a_pipelined_request_waits_behind_the_complete_ones():
    parser = parse(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\nGET /bad HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n")
    assert [request.target for request in parser.requests] == [b"/ok"]
    assert isinstance(parser.error, BadRequest)
    with pytest.raises(BadRequest):
        parser.feed(b"more")


def test_error_in_the_body_being_received_is_raised_at_once():
    parser = parse(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(BadRequest):
        parser.feed(b"zz\r\n")
