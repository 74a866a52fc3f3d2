"""The application served when none is named (Chaussette's `chaussette.util.hello_app`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def hello_app(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    body = b"hello world"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
