"""Response framing: status parsing, header scanning, framing choice, head encoding."""

from __future__ import annotations

import pytest

from chaussette_compat.http.response import (
    DateCache,
    Framing,
    HeaderScan,
    body_allowed,
    choose_framing,
    encode_chunk,
    encode_head,
    error_response,
    status_code,
)


def test_status_code():
    assert status_code("200 OK") == 200
    assert status_code("599 Custom Thing") == 599
    for bad in ("200", "OK 200", "20 OK", "2000 OK", "200 OK\r\nX: y", "099 Low"):
        with pytest.raises(ValueError):
            status_code(bad)


def test_header_scan_reads_length_close_and_date_and_drops_hop_by_hop():
    scan = HeaderScan(
        [
            ("Content-Type", "text/plain"),
            ("content-length", "12"),
            ("Date", "x"),
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
            ("X-Kept", "1"),
        ]
    )
    assert scan.content_length == 12 and scan.close and scan.has_date
    assert scan.headers == [
        ("Content-Type", "text/plain"),
        ("content-length", "12"),
        ("Date", "x"),
        ("X-Kept", "1"),
    ]


def test_header_scan_keeps_the_same_list_when_nothing_is_dropped():
    headers = [("Content-Type", "text/plain")]
    scan = HeaderScan(headers)
    assert scan.headers is headers and scan.content_length is None and not scan.close


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Evil", "a\r\nSet-Cookie: b")],
        [("X-Evil\n", "a")],
        [("Bad:Name", "a")],
        [("Content-Length", "-1")],
        [("Content-Length", "ten")],
    ],
)
def test_header_scan_refuses_injection_and_bad_lengths(headers):
    with pytest.raises(ValueError):
        HeaderScan(headers)


@pytest.mark.parametrize(
    ("code", "method", "http11", "app_length", "known", "expected"),
    [
        (200, "GET", True, 5, None, (Framing.LENGTH, 5)),
        (200, "GET", True, None, 7, (Framing.LENGTH, 7)),
        (200, "GET", True, None, None, (Framing.CHUNKED, None)),
        (200, "GET", False, None, None, (Framing.CLOSE, None)),
        (200, "HEAD", True, None, 7, (Framing.NONE, 7)),
        (200, "HEAD", True, None, None, (Framing.NONE, None)),
        (204, "GET", True, None, 0, (Framing.NONE, None)),
        (304, "GET", True, 10, None, (Framing.NONE, 10)),
        (101, "GET", True, None, None, (Framing.NONE, None)),
    ],
)
def test_choose_framing(code, method, http11, app_length, known, expected):
    assert choose_framing(code, method, http11, app_length, known) == expected


def test_body_allowed():
    assert body_allowed(200, "GET") and body_allowed(404, "POST")
    assert not body_allowed(200, "HEAD") and not body_allowed(204, "GET") and not body_allowed(304, "GET")
    assert not body_allowed(100, "GET")


def test_encode_head_keep_alive_http11_with_length():
    head = encode_head("200 OK", [("A", "b")], Framing.LENGTH, 3, True, True, "Date: D\r\n")
    assert head == b"HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 3\r\nDate: D\r\n\r\n"


def test_encode_head_chunked_close_and_http10_keep_alive():
    head = encode_head("200 OK", [], Framing.CHUNKED, None, False, True, "")
    assert head == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    head = encode_head("200 OK", [], Framing.LENGTH, 0, True, False, "")
    assert head == b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"


def test_encode_head_refuses_non_latin1():
    with pytest.raises(UnicodeEncodeError):
        encode_head("200 OK", [("X", "\u20ac")], Framing.NONE, None, True, True, "")


def test_encode_chunk():
    assert encode_chunk(b"hello") == b"5\r\nhello\r\n"
    assert encode_chunk(b"x" * 300) == b"12c\r\n" + b"x" * 300 + b"\r\n"


def test_date_cache_formats_once_per_second():
    cache = DateCache()
    assert cache.line(0) == "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
    first = cache.line(1_700_000_000.1)
    assert cache.line(1_700_000_000.9) is first
    assert cache.line(1_700_000_001.0) != first


def test_error_response_is_complete_and_closes():
    raw = error_response("431 Request Header Fields Too Large", "", "too many")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Connection: close" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert body == b"431 Request Header Fields Too Large\ntoo many\n"


def test_encode_head_strips_whitespace_around_values():
    # Django's cookies come as ' csrftoken=...'; the space is not part of the value (RFC 9110 5.5).
    head = encode_head("200 OK", [("Set-Cookie", " csrftoken=x; Path=/ ")], Framing.LENGTH, 0, True, True, "")
    assert b"Set-Cookie: csrftoken=x; Path=/\r\n" in head
