"""Hypothesis fuzz of the request path without sockets: parser, environ, wsgi.input.

Whatever bytes arrive, in whatever pieces, the only exceptions are the HTTP errors the server turns
into 4xx/5xx responses, and every request that comes out yields a PEP 3333 environ and a body that
reads back exactly what the parser received.
"""

from __future__ import annotations

import io
import warnings
from wsgiref.validate import check_environ

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaussette_compat.http.body import RequestBody
from chaussette_compat.http.environ import connection_environ, request_environ, server_environ
from chaussette_compat.http.errors import ClientDisconnected, HTTPError
from chaussette_compat.http.limits import Limits
from chaussette_compat.http.parser import RequestParser

from .http_strategies import streams

LIMITS = Limits(max_request_line=256, max_header_fields=8, max_header_field_size=128, max_body_size=512)
BASE = connection_environ(
    server_environ(multithread=True, errors=io.StringIO(), file_wrapper=object),
    ("127.0.0.1", 80),
    ("10.0.0.1", 1),
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return [piece for piece in pieces if piece]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams, cuts=st.lists(st.integers(0, 2000), max_size=5))
def test_parser_path_never_fails_except_with_http_errors(data: bytes, cuts: list[int]) -> None:
    parser = RequestParser(LIMITS)
    pieces = _split(data, cuts)
    while pieces or parser.requests:
        if not parser.requests:
            try:
                parser.feed(pieces.pop(0))
            except HTTPError:
                return  # the server answers 4xx/5xx and closes
            continue
        request = parser.requests[0]

        def receive() -> None:
            if not pieces:
                raise ClientDisconnected("end of the fuzz input")
            parser.feed(pieces.pop(0))

        environ = request_environ(BASE, request, RequestBody(request, receive))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown methods only warn
            check_environ(environ)
        try:
            body = environ["wsgi.input"].read()
        except (ClientDisconnected, HTTPError):
            break
        assert request.complete
        assert request.content_length is None or len(body) == request.content_length
        parser.requests.popleft()
