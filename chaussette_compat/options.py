"""The server's settings after parsing the command line, and the pure parsers for option values.

Rule: `Options` is frozen and complete (every default applied); backends read it and never argv.
Parsers raise ValueError with a message naming the option and what would be valid.
"""

from __future__ import annotations

import signal
import socket
from dataclasses import dataclass, field

from .http.limits import Limits
from .http.proxies import DEFAULT_TRUSTED, TrustedProxies

DEFAULT_APP = "chaussette.util.hello_app"
ADDRESS_FAMILIES = {"AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6, "AF_UNIX": socket.AF_UNIX}
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
#: Signals that stop at once (unless one of them is chosen as the graceful --stop-signal).
QUICK_STOP_SIGNALS = (signal.SIGINT, signal.SIGQUIT)
STATSD_PORT = 8125


@dataclass(frozen=True)
class ListenSpec:
    """Where to serve: an inherited descriptor, a unix socket path, or a TCP host and port."""

    fd: int | None = None
    unix_path: str | None = None
    host: str = "localhost"
    port: int = 8080
    family: int = socket.AF_INET
    #: None: keep an inherited socket's backlog; bind our own with 2048 (Chaussette's default).
    backlog: int | None = None

    def describe(self) -> str:
        if self.fd is not None:
            return f"fd://{self.fd}"
        if self.unix_path is not None:
            return f"unix:{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class StatsdAddress:
    """Where statsd listens: (host, port) over UDP, or a unix datagram socket's path."""

    host: str | None = None
    port: int = STATSD_PORT
    path: str | None = None

    def describe(self) -> str:
        if self.path is not None:
            return f"unix://{self.path}"
        return f"[{self.host}]:{self.port}" if self.host and ":" in self.host else f"{self.host}:{self.port}"


def parse_statsd_host(text: str) -> StatsdAddress:
    """gunicorn's --statsd-host: HOST:PORT, HOST (port 8125), [V6]:PORT or unix://PATH."""
    value = text.strip()
    if value.startswith("unix://"):
        path = value[len("unix://") :]
        if not path:
            raise ValueError(f"--statsd-host {text!r}: expected unix:///path/to/socket")
        return StatsdAddress(path=path)
    host, port_text = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"--statsd-host {text!r}: expected [ADDRESS]:PORT")
        port_text = rest[1:]
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    if not host:
        raise ValueError(f"--statsd-host {text!r}: expected HOST:PORT, HOST or unix://PATH")
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"--statsd-host {text!r}: the port must be 1-65535")
    return StatsdAddress(host=host, port=int(port_text) if port_text else STATSD_PORT)


@dataclass(frozen=True)
class Options:
    """Everything one `chaussette` process needs to know."""

    app: str = DEFAULT_APP
    listen: ListenSpec = field(default_factory=ListenSpec)
    backend: str = "gevent"
    monkey_patch: bool = True
    spawn: int | None = None
    graceful_timeout_s: float = 30.0
    stop_signal: int = signal.SIGTERM
    pre_hook: str | None = None
    post_hook: str | None = None
    python_path: tuple[str, ...] = ()
    log_level: str = "info"
    log_output: str = "-"
    access_log: bool = False
    trusted_proxies: TrustedProxies = field(default_factory=lambda: TrustedProxies.parse(DEFAULT_TRUSTED))
    limits: Limits = field(default_factory=Limits)
    header_timeout_s: float = 10.0
    keepalive_timeout_s: float = 5.0
    io_timeout_s: float = 30.0
    #: Where to send request figures in statsd's format (--statsd-host); None: not sent.
    statsd: StatsdAddress | None = None
    statsd_prefix: str = ""
    #: Report request figures to circusd on NOTIFY_SOCKET (--request-metrics).
    request_metrics: bool = False

    @property
    def quick_stop_signals(self) -> tuple[int, ...]:
        return tuple(sig for sig in QUICK_STOP_SIGNALS if sig != self.stop_signal)


def parse_host(host: str, port: int, family_name: str, fd: int | None, backlog: int | None) -> ListenSpec:
    """Turn Chaussette's --host/--port/--fd/--address-family/--backlog into a `ListenSpec`.

    --host accepts 'fd://N' and 'unix:/path' as well as a name or address; 'unix:' implies AF_UNIX.
    """
    if family_name not in ADDRESS_FAMILIES:
        raise ValueError(f"--address-family {family_name!r}: expected one of {', '.join(ADDRESS_FAMILIES)}")
    family = ADDRESS_FAMILIES[family_name]
    if backlog is not None and backlog < 1:
        raise ValueError(f"--backlog {backlog}: expected a positive number of pending connections")
    if fd is None and host.startswith("fd://"):
        text = host[len("fd://") :]
        if not text.isdigit():
            raise ValueError(f"--host {host!r}: expected fd://N with N a descriptor number")
        fd = int(text)
    if fd is not None:
        if fd < 0:
            raise ValueError(f"--fd {fd}: expected a descriptor number >= 0")
        return ListenSpec(fd=fd, family=family, backlog=backlog)
    if host.startswith("unix:"):
        path = host[len("unix:") :]
        if not path:
            raise ValueError(f"--host {host!r}: expected unix:/path/to/socket")
        return ListenSpec(unix_path=path, family=socket.AF_UNIX, backlog=backlog)
    if family == socket.AF_UNIX:
        raise ValueError(f"--address-family AF_UNIX needs --host unix:/path (got --host {host!r})")
    if not 0 <= port <= 65535:
        raise ValueError(f"--port {port}: expected 0-65535")
    return ListenSpec(host=host, port=port, family=family, backlog=backlog)


def parse_signal(name: str) -> int:
    """'TERM', 'SIGTERM', 'term' or '15' -> signal.SIGTERM."""
    text = name.strip().upper()
    if text.isdigit():
        try:
            return signal.Signals(int(text)).value
        except ValueError:
            raise ValueError(f"--stop-signal {name!r}: no such signal number") from None
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return signal.Signals[text].value
    except KeyError:
        raise ValueError(
            f"--stop-signal {name!r}: expected a signal name such as TERM, INT, QUIT, USR1"
        ) from None


def parse_size(text: str, option: str) -> int:
    """'1048576', '512k', '10M', '1G' -> bytes (binary units)."""
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    raw = text.strip().upper().removesuffix("B")
    multiplier = 1
    if raw and raw[-1] in units:
        multiplier = units[raw[-1]]
        raw = raw[:-1]
    if not raw.isdigit():
        raise ValueError(f"{option} {text!r}: expected a number of bytes, optionally with K, M or G")
    return int(raw) * multiplier


def parse_python_path(text: str | None, pathsep: str) -> tuple[str, ...]:
    """--python-path: an os.pathsep-separated list; empty entries are dropped."""
    if not text:
        return ()
    return tuple(entry for entry in text.split(pathsep) if entry)
