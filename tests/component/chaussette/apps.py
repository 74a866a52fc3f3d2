"""WSGI applications the chaussette component tests serve (imported by the server subprocess).

Each is small and says in its name what it does; behaviour is steered by the query string so one
worker can serve several cases.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs
from wsgiref.validate import validator

StartResponse = Callable[..., Any]

_ENVIRON_KEYS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "RAW_URI",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "wsgi.url_scheme",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
    "wsgi.input_terminated",
)


def _query(environ: dict[str, Any]) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}


def echo(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """JSON of the environ's CGI keys, HTTP_* headers, the body read in full, and our pid."""
    if environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read()
    else:  # PEP 3333: read no further than CONTENT_LENGTH (wsgiref's input is the socket itself)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    report = {key: environ[key] for key in _ENVIRON_KEYS if key in environ}
    report["headers"] = {key: value for key, value in environ.items() if key.startswith("HTTP_")}
    report["body"] = body.decode("latin-1")
    report["pid"] = os.getpid()
    payload = json.dumps(report).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def hello(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def pid(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


def slow(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Sleeps ?s= seconds (cooperatively under gevent's monkey patching), then answers."""
    seconds = float(_query(environ).get("s", "1"))
    errors = environ["wsgi.errors"]
    errors.write(f"slow request started ({seconds}s)\n")  # tests wait for this line
    errors.flush()
    time.sleep(seconds)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"slept {seconds}".encode()]


def stream(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    """A generator body of ?n= pieces of ?size= bytes (no Content-Length: chunked on HTTP/1.1)."""
    query = _query(environ)
    count = int(query.get("n", "3"))
    size = int(query.get("size", "5"))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    for index in range(count):
        yield bytes([97 + index % 26]) * size


def fail(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    raise RuntimeError("the app failed on purpose")


def fail_midstream(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first part"
    raise RuntimeError("the app failed after the head was sent")


def ignore_body(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Answers without reading the request body."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")])
    return [b"ignored"]


def read_lines(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Reads the body line by line through wsgi.input iteration and reports the line count."""
    lines = list(environ["wsgi.input"])
    payload = json.dumps({"lines": len(lines), "bytes": sum(map(len, lines))}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [payload]


def send_file(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Sends the file named by ?path= through wsgi.file_wrapper."""
    path = _query(environ)["path"]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](open(path, "rb"))


def big(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    """?mb= megabytes streamed in 64 KiB pieces (for clients that disconnect mid-response)."""
    total = int(float(_query(environ).get("mb", "32")) * 1024 * 1024)
    piece = b"x" * 65536
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(total))])
    sent = 0
    while sent < total:
        yield piece[: total - sent]
        sent += len(piece)


def _validated_inner(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    # PEP 3333's read() takes a size; wsgi.input_terminated lets us read a chunked body to b""
    pieces = []
    while piece := environ["wsgi.input"].read(4096):
        pieces.append(piece)
    body = b"".join(pieces)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body) + 3))])
    return [b"ok:" + body]


#: wsgiref.validate checks our environ and our use of start_response/close on every request.
validated = validator(_validated_inner)


def paste_factory(global_config: dict[str, Any], **local_config: Any) -> Callable[..., Iterable[bytes]]:
    """A PasteDeploy app factory ('use = call:tests.component.chaussette.apps:paste_factory')."""

    def from_paste(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"from paste"]

    return from_paste


def _keep_cpu_busy(environ: dict[str, Any]) -> None:
    """For ?ms= milliseconds (default 2), without yielding, as a real view's Python code does."""
    until = time.perf_counter() + float(_query(environ).get("ms", "2")) / 1000
    while time.perf_counter() < until:
        pass


def busy_pid(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Keeps the CPU busy (?ms=), then answers with our pid."""
    _keep_cpu_busy(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


_served_in_order = itertools.count(1)


def busy_serial(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Keeps the CPU busy (?ms=), then answers with the rank of this request among those this worker
    has started."""
    serial = next(_served_in_order)
    _keep_cpu_busy(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(serial).encode()]


def patch_report(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Whether gevent had monkey-patched the standard library before this module was imported."""
    payload = json.dumps({"patched_at_import": _PATCHED_AT_IMPORT}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [payload]


def _patched_now() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return bool(monkey.is_module_patched("socket") and monkey.is_module_patched("time"))


_PATCHED_AT_IMPORT = _patched_now()


def with_status(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Answers with the status ?status= asks for (default 200); ?fail=1 raises instead (a 500)."""
    query = _query(environ)
    if query.get("fail"):
        raise RuntimeError("the app failed on purpose")
    code = int(query.get("status", "200"))
    start_response(f"{code} Whatever", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
