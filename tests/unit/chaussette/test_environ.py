"""Environ building: CGI keys, PATH_INFO/QUERY_STRING, and what wsgiref.validate checks."""

from __future__ import annotations

import io
from wsgiref.validate import check_environ

import pytest

from chaussette_compat.http.body import RequestBody
from chaussette_compat.http.environ import (
    connection_environ,
    request_environ,
    server_environ,
    split_target,
)
from chaussette_compat.http.header_names import compute_environ_key, environ_key
from chaussette_compat.http.limits import Limits
from chaussette_compat.http.parser import RequestParser


@pytest.mark.parametrize(
    ("name", "key"),
    [
        (b"Host", "HTTP_HOST"),
        (b"content-type", "CONTENT_TYPE"),
        (b"Content-Length", "CONTENT_LENGTH"),
        (b"X-Real-IP", "HTTP_X_REAL_IP"),
        (b"X_Real_IP", None),
    ],
)
def test_environ_keys(name, key):
    assert compute_environ_key(name) == key
    assert environ_key(name) == key


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (b"/", ("/", "")),
        (b"/a/b?x=1&y=%20", ("/a/b", "x=1&y=%20")),
        (b"/caf%C3%A9", ("/caf\xc3\xa9", "")),
        (b"/a%2Fb", ("/a/b", "")),
        (b"/frag#x", ("/frag", "")),
        (b"/q?a=1#frag", ("/q", "a=1")),
        (b"*", ("", "")),
        (b"http://example.com:8080/p/q?r=s", ("/p/q", "r=s")),
        (b"http://example.com", ("/", "")),
    ],
)
def test_split_target(target, expected):
    assert split_target(target) == expected


def _environ(raw: bytes, local=("127.0.0.1", 8000), peer=("10.1.2.3", 55555)) -> dict:
    parser = RequestParser(Limits())
    parser.feed(raw)
    request = parser.requests[0]
    base = server_environ(multithread=True, errors=io.StringIO(), file_wrapper=object)
    return request_environ(connection_environ(base, local, peer), request, RequestBody(request, lambda: None))


def test_request_environ_has_every_pep3333_key_and_passes_wsgiref_validate():
    environ = _environ(
        b"POST /x%20y?q=1 HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\nContent-Length: 0\r\n\r\n"
    )
    check_environ(environ)
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/x y"
    assert environ["QUERY_STRING"] == "q=1"
    assert environ["RAW_URI"] == "/x%20y?q=1"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "8000")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("10.1.2.3", "55555")
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("a/b", "0")
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.input_terminated"] is True


def test_http10_protocol_and_unix_socket_addresses():
    environ = _environ(b"GET / HTTP/1.0\r\n\r\n", local="/run/app.sock", peer="")
    check_environ(environ)
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("localhost", "")
    assert environ["REMOTE_ADDR"] == ""


def test_each_request_gets_its_own_environ():
    parser = RequestParser(Limits())
    parser.feed(b"GET /1 HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n")
    base = connection_environ(
        server_environ(multithread=True, errors=None, file_wrapper=None), ("h", 1), ("p", 2)
    )
    first, second = (request_environ(base, request, None) for request in parser.requests)
    assert first["PATH_INFO"] == "/1" and "HTTP_X_A" in first
    assert second["PATH_INFO"] == "/2" and "HTTP_X_A" not in second
    assert "PATH_INFO" not in base
