"""PEP 3333 environ building: the request target to PATH_INFO/QUERY_STRING, the parsed head to CGI keys.

Rule: values are native strings decoded as latin-1 (PEP 3333); PATH_INFO is percent-decoded, the
query string is not. The target cache is bounded so a client sending random targets cannot grow it.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import httptools

from .parser import Request
from .rules import absolute_authority

_CACHE_LIMIT = 1024
_target_cache: dict[bytes, tuple[str, str]] = {}
_SHORT_TARGET = 128


def _split_target(target: bytes) -> tuple[str, str]:
    if target[:1] != b"/":
        if target == b"*":
            return "", ""  # OPTIONS *: the server itself; RAW_URI keeps the '*
        # absolute-form (RFC 9112 3.2.2), sent by clients that think we are a proxy
        try:
            url = httptools.parse_url(target)
        except httptools.HttpParserInvalidURLError:
            return "", ""
        path = url.path or b"/"
        query = url.query or b""
    else:
        path, _, query = target.partition(b"?")
        if b"#" in query:
            query = query.partition(b"#")[0]
        elif b"#" in path:
            path = path.partition(b"#")[0]
    if b"%" in path:
        path = unquote_to_bytes(path)
    return path.decode("latin-1"), query.decode("latin-1")


def split_target(target: bytes) -> tuple[str, str]:
    """Request target -> (PATH_INFO, QUERY_STRING), with a bounded cache for short targets."""
    try:
        return _target_cache[target]
    except KeyError:
        result = _split_target(target)
        if len(target) <= _SHORT_TARGET and len(_target_cache) < _CACHE_LIMIT:
            _target_cache[target] = result
        return result


def server_environ(*, multithread: bool, errors: object, file_wrapper: object) -> dict[str, object]:
    """The keys every request of one server shares."""
    return {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": errors,
        "wsgi.multithread": multithread,
        # several workers may share the listening socket; the app cannot assume it is alone
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": file_wrapper,
        # wsgi.input returns b"" at the end of the body, chunked or not (gunicorn's extension)
        "wsgi.input_terminated": True,
        "SCRIPT_NAME": "",
        "SERVER_SOFTWARE": "chaussette-compat",
    }


def connection_environ(base: dict[str, object], local: object, peer: object) -> dict[str, object]:
    """`base` plus SERVER_NAME/PORT and REMOTE_ADDR/PORT from the socket's own addresses.

    `local` and `peer` are what getsockname()/accept() return: (host, port[, ...]) for TCP, a path
    (str or bytes, maybe empty) for a unix socket.
    """
    environ = dict(base)
    if isinstance(local, tuple):
        environ["SERVER_NAME"] = str(local[0])
        environ["SERVER_PORT"] = str(local[1])
    else:
        environ["SERVER_NAME"] = "localhost"
        environ["SERVER_PORT"] = ""
    if isinstance(peer, tuple):
        environ["REMOTE_ADDR"] = str(peer[0])
        environ["REMOTE_PORT"] = str(peer[1])
    else:
        environ["REMOTE_ADDR"] = ""
        environ["REMOTE_PORT"] = ""
    return environ


def request_environ(
    conn_environ: dict[str, object], request: Request, wsgi_input: object
) -> dict[str, object]:
    """The environ for one request on a connection whose fixed part is `conn_environ`."""
    environ = conn_environ.copy()
    environ.update(request.headers)
    target = request.target
    path, query = split_target(target)
    if target[:1] != b"/" and target != b"*" and request.method != "CONNECT":
        # absolute-form: the target's host wins over the Host field (RFC 9112 3.2.2, a MUST)
        environ["HTTP_HOST"] = absolute_authority(target).decode("latin-1")
    environ["REQUEST_METHOD"] = request.method
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = query
    environ["RAW_URI"] = target.decode("latin-1")
    environ["SERVER_PROTOCOL"] = "HTTP/1.1" if request.version == "1.1" else "HTTP/1.0"
    environ["wsgi.input"] = wsgi_input
    return environ
