"""Hypothesis strategies for HTTP/1.x request streams: plausible requests with mangled parts, and noise.

Rule: shared by the parser fuzz (no sockets) and the live-server fuzz, so both see the same inputs.
"""

from __future__ import annotations

from hypothesis import strategies as st

token = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    min_size=1,
    max_size=12,
)
methods = st.one_of(st.sampled_from(["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH"]), token)
targets = st.one_of(
    st.from_regex(rb"\A/[A-Za-z0-9/%?=&#._~-]{0,40}\Z"),
    st.sampled_from([b"*", b"http://example.com/a?b", b"//x", b"/%zz", b"/%00"]),
    st.binary(max_size=30),
)
versions = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.x", b"HTTP/0.9", b""])
header_names = st.one_of(
    st.sampled_from(["Host", "Content-Type", "Expect", "Connection", "Cookie", "X_Under"]), token
)
header_values = st.binary(max_size=40).filter(lambda v: b"\r" not in v and b"\n" not in v)
bodies = st.binary(max_size=600)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    head = draw(methods).encode() + b" " + draw(targets) + b" " + draw(versions) + b"\r\n"
    for _ in range(draw(st.integers(0, 10))):
        head += draw(header_names).encode() + b": " + draw(header_values) + b"\r\n"
    body = draw(bodies)
    framing = draw(st.sampled_from(["length", "wrong-length", "chunked", "none"]))
    if framing == "length":
        head += b"Content-Length: %d\r\n" % len(body)
    elif framing == "wrong-length":
        head += b"Content-Length: %d\r\n" % draw(st.integers(0, 700))
    elif framing == "chunked":
        head += b"Transfer-Encoding: chunked\r\n"
        pieces = []
        rest = body
        while rest:
            size = draw(st.integers(1, max(1, len(rest))))
            pieces.append(b"%x\r\n%s\r\n" % (size, rest[:size]))
            rest = rest[size:]
        body = b"".join(pieces) + b"0\r\n\r\n"
    return head + b"\r\n" + body


streams = st.one_of(st.lists(requests(), min_size=1, max_size=3).map(b"".join), st.binary(max_size=300))
