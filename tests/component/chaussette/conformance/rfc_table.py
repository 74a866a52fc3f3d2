"""The conformance table: one row per rule of RFC 9110 / RFC 9112 that a request can exercise.

Each row is raw bytes in and what must come out: the status (or the statuses the RFC allows), what the
app saw in its environ (the echo app reports it), and whether the connection must be closed because
the framing is in doubt. `deviations` names the backends whose third-party parser cannot keep the rule
behind our wrapper, with why (chaussette_compat/README.md lists the same); those rows are strict xfails,
so a deviation that disappears fails the suite until the table is corrected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

H = b"Host: t\r\n"
CLOSE = b"Connection: close\r\n"
WSGIREF_ONE_REQUEST = "wsgiref serves one request per connection (HTTP/1.0 style): no persistence"
WSGIREF_NO_CHUNKED = "wsgiref cannot decode chunked request bodies: it answers 501"
WSGIREF_TARGET = "wsgiref puts an absolute-form target into PATH_INFO as sent and keeps the Host field"
WAITRESS_CHUNK_EXT = "waitress's chunked decoder refuses whitespace around chunk extensions (400)"
ABSOLUTE_HOST = "the backend keeps the Host field for an absolute-form target (the target's host should win)"
WSGIREF_FIELDS = "wsgiref's field parser (email.parser) hides this from our check: the raw line is gone"
WAITRESS_LOWERCASE = "waitress's request-line parser refuses lowercase methods with 400"


@dataclass(frozen=True)
class Rule:
    section: str
    says: str
    raw: bytes
    #: Statuses the RFC allows for the (first) response.
    status: frozenset[int]
    #: The connection is closed after the response (the framing is in doubt, or the client asked).
    closes: bool = False
    #: What the echo app saw: environ keys ('PATH_INFO', 'HTTP_HOST', 'body' for the body read, and
    #: 'absent' for a header key that must not be there).
    environ: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    #: How many responses the raw bytes must produce (pipelined requests), before any close.
    responses: int = 1
    deviations: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.section} {self.says}"


def ok(**environ: str) -> dict[str, object]:
    return {"status": frozenset({200}), "environ": environ}


def refused(*statuses: int) -> dict[str, object]:
    return {"status": frozenset(statuses), "closes": True}


def chunked_post(body: bytes, *extra: bytes) -> bytes:
    return (
        b"POST / HTTP/1.1\r\n"
        + H
        + b"".join(extra)
        + b"Transfer-Encoding: chunked\r\n"
        + CLOSE
        + b"\r\n"
        + body
    )


RULES: tuple[Rule, ...] = (
    # -- request line and target forms (RFC 9112 3) ----------------------------------------------
    Rule(
        "9112 3.2.1",
        "origin-form is served",
        b"GET /a%20b?x=1 HTTP/1.1\r\n" + H + CLOSE + b"\r\n",
        **ok(PATH_INFO="/a b", QUERY_STRING="x=1"),
        closes=True,
    ),
    Rule(
        "9112 3.2.4", "asterisk-form only with OPTIONS", b"GET * HTTP/1.1\r\n" + H + b"\r\n", **refused(400)
    ),
    Rule(
        "9112 3.2.4",
        "OPTIONS * is served",
        b"OPTIONS * HTTP/1.1\r\n" + H + CLOSE + b"\r\n",
        status=frozenset({200}),
        closes=True,
    ),
    Rule(
        "9112 3.2.2",
        "absolute-form: the target's host replaces Host",
        b"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: other\r\n" + CLOSE + b"\r\n",
        **ok(PATH_INFO="/p", QUERY_STRING="q=1", HTTP_HOST="example.com"),
        closes=True,
        deviations={"wsgiref": WSGIREF_TARGET, "waitress": ABSOLUTE_HOST},
    ),
    Rule(
        "9110 4.2.1",
        "absolute-form without a host is 400",
        b"GET http:// HTTP/1.1\r\n" + H + b"\r\n",
        **refused(400),
    ),
    Rule("9112 3.2", "a target in no form is 400", b"GET foo HTTP/1.1\r\n" + H + b"\r\n", **refused(400)),
    Rule(
        "9112 3.2.3",
        "authority-form only with CONNECT",
        b"GET example.com:80 HTTP/1.1\r\n" + H + b"\r\n",
        **refused(400),
    ),
    Rule(
        "9110 9.1",
        "an extension method is served or 501, never 400",
        b"PURGEX / HTTP/1.1\r\n" + H + CLOSE + b"\r\n",
        status=frozenset({200, 501}),
        closes=True,
    ),
    Rule(
        "9110 9.1",
        "methods are case-sensitive tokens: 'get' is served or 501",
        b"get / HTTP/1.1\r\n" + H + CLOSE + b"\r\n",
        status=frozenset({200, 501}),
        closes=True,
        deviations={"waitress": WAITRESS_LOWERCASE},
    ),
    Rule("9112 3", "a line that is no request line is 400", b"NOT HTTP AT ALL\r\n\r\n", **refused(400)),
    Rule(
        "9112 2.3",
        "HTTP/2.0 on HTTP/1 framing is 505",
        b"GET / HTTP/2.0\r\n" + H + b"\r\n",
        **refused(505, 400),
    ),
    Rule(
        "9112 3",
        "a target over --limit-request-line is 414",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n",
        **refused(414),
    ),
    # -- field syntax and duplicates (RFC 9112 5, RFC 9110 5) ------------------------------------
    Rule(
        "9112 5.1",
        "whitespace before the colon is 400",
        b"GET / HTTP/1.1\r\n" + H + b"X-A : 1\r\n\r\n",
        **refused(400),
        deviations={"wsgiref": WSGIREF_FIELDS},
    ),
    Rule(
        "9112 5.2", "obs-fold is refused", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n 2\r\n\r\n", **refused(400)
    ),
    Rule(
        "9110 5.5",
        "NUL in a field value is 400",
        b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
        **refused(400),
    ),
    Rule(
        "9112 2.2",
        "a bare CR is 400",
        b"GET / HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n",
        **refused(400),
        deviations={"wsgiref": WSGIREF_FIELDS},
    ),
    Rule(
        "9112 3.2", "two Host lines are 400", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", **refused(400)
    ),
    Rule("9112 3.2", "HTTP/1.1 without Host is 400", b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", **refused(400)),
    Rule("9112 3.2", "an invalid Host value is 400", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", **refused(400)),
    Rule(
        "9110 5.3",
        "repeated field lines are combined in order",
        b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\nX-A: 2\r\n" + CLOSE + b"\r\n",
        **ok(HTTP_X_A="1,2"),
        closes=True,
    ),
    Rule(
        "6585 5",
        "a field over --limit-request-field-size is 431",
        b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"v" * 8200 + b"\r\n\r\n",
        **refused(431),
    ),
    Rule(
        "6585 5",
        "more fields than --limit-request-fields is 431",
        b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-F%d: v\r\n" % i for i in range(100)) + b"\r\n",
        **refused(431),
    ),
    # -- Content-Length and Transfer-Encoding framing (RFC 9112 6) -------------------------------
    Rule(
        "9112 6.2",
        "a Content-Length body is read whole",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n" + CLOSE + b"\r\nhello",
        **ok(body="hello"),
        closes=True,
    ),
    Rule(
        "9112 6.3",
        "no Content-Length nor Transfer-Encoding: no body",
        b"POST / HTTP/1.1\r\n" + H + CLOSE + b"\r\n",
        **ok(body=""),
        closes=True,
    ),
    Rule(
        "9112 6.3",
        "Content-Length with Transfer-Encoding is refused and closed",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        **refused(400),
    ),
    Rule(
        "9110 8.6",
        "an invalid Content-Length is 400",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1x\r\n\r\n",
        **refused(400),
    ),
    Rule(
        "9112 6.3",
        "two different Content-Lengths are 400",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        **refused(400),
    ),
    Rule(
        "9112 6.1",
        "HTTP/1.0 with Transfer-Encoding is faulty framing: refused and closed",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        **refused(400),
    ),
    Rule(
        "9112 6.3",
        "chunked not last is 400",
        chunked_post(b"0\r\n\r\n").replace(b"chunked", b"chunked, gzip"),
        **refused(400),
    ),
    Rule(
        "9112 6.1",
        "an unknown transfer coding is 501",
        chunked_post(b"0\r\n\r\n").replace(b"chunked", b"gzip, chunked"),
        **refused(501),
    ),
    # -- chunk syntax and trailers (RFC 9112 7.1) ------------------------------------------------
    Rule(
        "9112 7.1",
        "a chunked body is decoded",
        chunked_post(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        **ok(body="hello world"),
        closes=True,
        deviations={"wsgiref": WSGIREF_NO_CHUNKED},
    ),
    Rule(
        "9112 7.1.1",
        "whitespace and extensions after the chunk size are accepted",
        chunked_post(b'5 ; name=value\r\nhello\r\n6\t;a = "b c"\r\n world\r\n0 ;last\r\n\r\n'),
        **ok(body="hello world"),
        closes=True,
        deviations={"wsgiref": WSGIREF_NO_CHUNKED, "waitress": WAITRESS_CHUNK_EXT},
    ),
    Rule(
        "9112 7.1",
        "an invalid chunk size is 400",
        chunked_post(b"zz\r\nhello\r\n0\r\n\r\n"),
        **refused(400),
        deviations={"wsgiref": WSGIREF_NO_CHUNKED},
    ),
    Rule(
        "9112 7.1",
        "chunk data longer than its size is 400",
        chunked_post(b"3\r\nhello\r\n0\r\n\r\n"),
        **refused(400),
        deviations={"wsgiref": WSGIREF_NO_CHUNKED},
    ),
    Rule(
        "9110 6.5.1",
        "trailer fields are not merged into the header section",
        chunked_post(
            b"5\r\nhello\r\n0\r\nHost: evil.example.com\r\nX-Trailer: forged\r\n"
            b"Content-Type: forged/type\r\n\r\n",
            b"Content-Type: text/plain\r\n",
        ),
        **ok(HTTP_HOST="t", CONTENT_TYPE="text/plain", body="hello"),
        absent=("HTTP_X_TRAILER",),
        closes=True,
        deviations={"wsgiref": WSGIREF_NO_CHUNKED},
    ),
    # -- persistence and errors (RFC 9112 9) -----------------------------------------------------
    Rule(
        "9112 9.3",
        "HTTP/1.1 connections persist: pipelined requests are all answered",
        b"GET /1 HTTP/1.1\r\n" + H + b"\r\nGET /2 HTTP/1.1\r\n" + H + CLOSE + b"\r\n",
        status=frozenset({200}),
        responses=2,
        closes=True,
        deviations={"wsgiref": WSGIREF_ONE_REQUEST},
    ),
    Rule(
        "9112 9.6",
        "Connection: close closes after the response",
        b"GET / HTTP/1.1\r\n" + H + CLOSE + b"\r\n",
        status=frozenset({200}),
        closes=True,
    ),
    Rule(
        "9112 9.3",
        "HTTP/1.0 without keep-alive closes after the response",
        b"GET / HTTP/1.0\r\n\r\n",
        status=frozenset({200}),
        closes=True,
    ),
    Rule(
        "9112 6.3",
        "after a refusal for faulty framing nothing behind it is served",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        b"GET /smuggled HTTP/1.1\r\n" + H + b"\r\n",
        **refused(400),
    ),
)
