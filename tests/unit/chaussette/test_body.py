"""wsgi.input over the parser: reads pull more bytes through the connection's receive() callback."""

from __future__ import annotations

import pytest

from chaussette_compat.http.body import RequestBody
from chaussette_compat.http.errors import ClientDisconnected
from chaussette_compat.http.limits import Limits
from chaussette_compat.http.parser import RequestParser


def body_from(head: bytes, *pieces: bytes) -> tuple[RequestBody, list[bytes]]:
    """A RequestBody whose receive() feeds the next piece, as a socket read would."""
    parser = RequestParser(Limits())
    parser.feed(head)
    remaining = list(pieces)
    received: list[bytes] = []

    def receive() -> None:
        if not remaining:
            raise ClientDisconnected("no more pieces")
        piece = remaining.pop(0)
        received.append(piece)
        parser.feed(piece)

    return RequestBody(parser.requests[0], receive), received


def test_read_all_of_a_content_length_body():
    body, received = body_from(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhel", b"lo ", b"world"
    )
    assert body.read() == b"hello world"
    assert body.read() == b""
    assert received == [b"lo ", b"world"]


def test_read_sized_pieces_only_reads_what_it_needs():
    body, received = body_from(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc", b"def")
    assert body.read(2) == b"ab"
    assert received == []
    assert body.read(3) == b"cde"
    assert body.read(100) == b"f"
    assert body.read(1) == b""
    assert body.read(0) == b""


def test_readline_across_chunks_and_size_limit():
    body, _ = body_from(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\nc\r\n",
        b"3\r\nd\nx\r\n0\r\n\r\n",
    )
    assert body.readline() == b"ab\n"
    assert body.readline(1) == b"c"
    assert body.readline() == b"d\n"
    assert body.readline() == b"x"
    assert body.readline() == b""


def test_iteration_and_readlines():
    body, _ = body_from(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\na\nb\nc\n")
    assert list(body) == [b"a\n", b"b\n", b"c\n"]
    body, _ = body_from(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\na\nb\nc\n")
    assert body.readlines(3) == [b"a\n", b"b\n"]


def test_empty_body():
    body, received = body_from(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert body.read() == b"" and body.readline() == b"" and list(body) == []
    assert received == []


def test_premature_end_raises_client_disconnected():
    body, _ = body_from(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(ClientDisconnected):
        body.read()


def test_read_none_means_all():
    body, _ = body_from(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n", b"xyz")
    assert body.read(None) == b"xyz"
