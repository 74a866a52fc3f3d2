"""WSGI server backends: gevent (default, our HTTP/1.1 server), waitress, wsgiref.

Rule: one table names every backend; Chaussette's other backends are listed with why they are gone,
so `--backend meinheld` gets a clear answer instead of a stack trace. Each backend module offers
`prepare(options)` (run before the app is imported) and `serve(app, listener, options, context)`.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, TextIO

from ..options import Options
from ..request_metrics import RequestMeter


@dataclass(frozen=True)
class ServeContext:
    """What the serving loop reports to and writes through, beyond the options."""

    log_stream: TextIO
    #: Called once the app is imported and the listener is being accepted on.
    on_ready: Callable[[], None]
    #: Called when a graceful stop begins.
    on_stopping: Callable[[], None]
    #: Where each answered request is counted (--request-metrics, --statsd-host); None: not counted.
    requests: RequestMeter | None = None


class Backend(Protocol):
    def prepare(self, options: Options) -> None: ...

    def serve(
        self, app: Callable[..., Any], listener: socket.socket, options: Options, context: ServeContext
    ) -> int: ...


BACKENDS: dict[str, str] = {
    "gevent": "chaussette_compat.backends.gevent_server",
    "waitress": "chaussette_compat.backends.waitress_server",
    "wsgiref": "chaussette_compat.backends.wsgiref_server",
}

RETIRED: dict[str, str] = {
    "meinheld": "meinheld is unmaintained (last release 1.0.2, 2020)",
    "fastgevent": "it used gevent.wsgi, removed in gevent 1.3; 'gevent' is the fast one now",
    "geventwebsocket": "gevent-websocket is unmaintained",
    "geventws4py": "ws4py is unmaintained",
    "socketio": "gevent-socketio is unmaintained",
    "bjoern": "Chaussette only registered it on Python 2",
    "tornado": "Chaussette's tornado backend does not import on Tornado 6",
    "eventlet": "eventlet is being retired (gunicorn dropped its worker in 26.0)",
}


class BackendError(Exception):
    """An unknown, retired or uninstalled backend; the message lists the choices."""


def _choices() -> str:
    return ", ".join(BACKENDS)


def load_backend(name: str) -> Backend:
    """The backend module for `name`; BackendError naming the choices otherwise."""
    module_name = BACKENDS.get(name)
    if module_name is None:
        if name in RETIRED:
            raise BackendError(
                f"--backend {name}: not available ({RETIRED[name]}); choose one of: {_choices()}"
            )
        raise BackendError(f"--backend {name}: unknown backend; choose one of: {_choices()}")
    try:
        module: ModuleType = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(
            f"--backend {name}: cannot import it ({exc}); choose one of: {_choices()}"
        ) from exc
    return module  # type: ignore[return-value]
