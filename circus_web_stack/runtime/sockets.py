"""Listening sockets: bound once, all or nothing, and held for the daemon's life.

Workers come and go around them, so a restart never refuses a connection: the kernel queues it.
The fds stay non-inheritable in the daemon; the spawner passes them (pass_fds) only to processes of
watchers with use_sockets, at the same fd number that $(circus.sockets.NAME) names.

A socket nobody serves stops listening (core/socket_idle.py decides when) and listens again at the
same fd number, with its options: a TCP socket is shut down for reading, which takes it out of LISTEN
and resets what waits in its backlog while keeping its file description; a unix socket's description
is replaced by an unbound one (which resets its backlog) and its file removed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from circus_web_stack.config.model import SocketConfig
from circus_web_stack.core.errors import SocketBindError

log = logging.getLogger("circus_web_stack.sockets")

_FAMILIES = {"AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6, "AF_UNIX": socket.AF_UNIX}
_TYPES = {
    "SOCK_STREAM": socket.SOCK_STREAM,
    "SOCK_DGRAM": socket.SOCK_DGRAM,
    "SOCK_RAW": socket.SOCK_RAW,
    "SOCK_RDM": socket.SOCK_RDM,
    "SOCK_SEQPACKET": socket.SOCK_SEQPACKET,
}


def _enum(value: object, names: dict[str, int], prefix: str) -> int:
    """The config layer validated the name; accept 'AF_INET6' and 'INET6' alike, or a number."""
    if isinstance(value, str):
        key = value.upper()
        return names[key if key.startswith(prefix) else prefix + key]
    return int(value)  # type: ignore[call-overload]


@dataclass
class BoundSocket:
    """One listening socket and what `listsockets` reports of it."""

    name: str
    sock: socket.socket
    backlog: int
    host: str | None = None
    port: int | None = None
    path: str | None = None
    adopted: bool = False  # passed by systemd: its unix socket file is systemd's, never unlinked here
    listening: bool = True  # False while stopped listening (stop_listening)

    @property
    def fd(self) -> int:
        return self.sock.fileno()

    @property
    def address(self) -> str:
        if self.path is not None:
            return self.path
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"

    def info(self) -> dict[str, object]:
        if self.path is not None:
            return {"fd": self.fd, "name": self.name, "backlog": self.backlog, "path": self.path}
        return {
            "fd": self.fd,
            "name": self.name,
            "backlog": self.backlog,
            "host": self.host,
            "port": self.port,
        }

    def close(self) -> None:
        self.sock.close()
        if self.path is not None and not self.adopted and self.listening:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


def socket_family(cfg: SocketConfig) -> int:
    return socket.AF_UNIX if cfg.path else _enum(cfg.family, _FAMILIES, "AF_")


def socket_type(cfg: SocketConfig) -> int:
    return _enum(cfg.type, _TYPES, "SOCK_")


def bind_socket(cfg) -> BoundSocket:  # cfg: config.model.SocketConfig
    family = socket_family(cfg)
    sock_type = socket_type(cfg)
    proto = cfg.proto
    if isinstance(proto, str):
        proto = socket.getprotobyname(proto)
    if family == socket.AF_UNIX:
        return _bind_unix(cfg, sock_type, proto or 0)
    infos = socket.getaddrinfo(cfg.host, cfg.port, family, sock_type, proto or 0, socket.AI_PASSIVE)
    family, sock_type, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, sock_type, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if cfg.so_reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if cfg.interface:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, cfg.interface.encode() + b"\0")
        if sock_type == socket.SOCK_STREAM:
            # Accepted sockets inherit TCP_NODELAY on Linux: without it every keep-alive response whose
            # headers and body go out in two sends stalls ~40 ms on Nagle (DESIGN.md, pitfalls).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _bind_and_listen(sock, sockaddr, sock_type, cfg)
    except BaseException:
        sock.close()
        raise
    host, port = sock.getsockname()[:2]
    return BoundSocket(cfg.name, sock, cfg.backlog, host=host, port=port)


def _bind_and_listen(sock: socket.socket, address: object, sock_type: int, cfg) -> None:
    sock.bind(address)
    if connection_oriented(sock_type):
        sock.listen(cfg.backlog)
    sock.setblocking(cfg.blocking)


def connection_oriented(sock_type: int) -> bool:
    """Whether sockets of this type listen (and so can refuse connections)."""
    return sock_type in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET)


def accepts_connections(path: str) -> bool:
    """Whether a live process listens on the unix socket at `path` (a stale file refuses)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _bind_unix(cfg, sock_type: int, proto: int) -> BoundSocket:
    sock = socket.socket(socket.AF_UNIX, sock_type, proto)
    try:
        _bind_unix_path(sock, cfg, sock_type)
    except BaseException:
        sock.close()
        raise
    return BoundSocket(cfg.name, sock, cfg.backlog, path=cfg.path)


def _bind_unix_path(sock: socket.socket, cfg, sock_type: int) -> None:
    """Bind `sock` at cfg.path (a stale socket file there removed if cfg.replace) with cfg.umask."""
    path = cfg.path
    if os.path.lexists(path):
        if not cfg.replace:
            raise OSError(f"{path} already exists (set 'replace = true' to remove a stale socket file)")
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise OSError(f"{path} exists and is not a socket; refusing to replace it")
        if accepts_connections(path):
            raise OSError(f"{path} is in use by a running process (replace only removes a stale socket)")
        os.unlink(path)
    old_umask = os.umask(cfg.umask)
    try:
        _bind_and_listen(sock, path, sock_type, cfg)
    finally:
        os.umask(old_umask)


def stop_listening(bound: BoundSocket) -> None:
    """Refuse connections on `bound` from now on, and reset those waiting in its backlog; its fd
    number stays reserved for listen_again."""
    sock = bound.sock
    if sock.family == socket.AF_UNIX:
        # shutdown() would refuse new connects but leave the backlog waiting: replace the description.
        with socket.socket(socket.AF_UNIX, sock.type) as fresh:
            os.dup2(fresh.fileno(), sock.fileno(), inheritable=False)
        if not bound.adopted:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(bound.path)  # type: ignore[arg-type]
    else:
        sock.shutdown(socket.SHUT_RD)
    bound.listening = False


def listen_again(bound: BoundSocket, cfg) -> None:
    """Listen on `bound` again, on its address, at its fd number. Raises OSError if the address was
    taken meanwhile."""
    sock = bound.sock
    if sock.family == socket.AF_UNIX:
        _bind_unix_path(sock, cfg, sock.type)
    else:
        try:
            sock.bind(sock.getsockname())  # the kernel released a port it had chosen (port 0)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: still bound, as a configured port stays
                raise
        sock.listen(bound.backlog)
        sock.setblocking(cfg.blocking)
    bound.listening = True


def same_address(old_cfg, new_cfg) -> bool:
    """Whether two socket configs name the same address (so the new one cannot be bound beside it)."""
    if old_cfg.path or new_cfg.path:
        return old_cfg.path == new_cfg.path
    return (old_cfg.host, old_cfg.port, old_cfg.family) == (new_cfg.host, new_cfg.port, new_cfg.family) and (
        new_cfg.port != 0
    )


def adjust_in_place(bound: BoundSocket, cfg) -> None:
    """Apply what can change on an open listening socket: the backlog (listen() again) and blocking."""
    if cfg.backlog != bound.backlog:
        if bound.listening:
            bound.sock.listen(cfg.backlog)
        bound.backlog = cfg.backlog
    bound.sock.setblocking(cfg.blocking)


def describe(cfg) -> str:
    if cfg.path:
        return f"socket {cfg.name} ({cfg.path})"
    return f"socket {cfg.name} ({cfg.host}:{cfg.port})"


class SocketSet:
    """The daemon's bound sockets by name."""

    def __init__(self, sockets: Iterable[BoundSocket] = ()) -> None:
        self._by_name: dict[str, BoundSocket] = {s.name: s for s in sockets}

    def __iter__(self) -> Iterator[BoundSocket]:
        return iter(sorted(self._by_name.values(), key=lambda s: s.fd))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> BoundSocket | None:
        return self._by_name.get(name)

    def fds(self) -> dict[str, int]:
        return {name: s.fd for name, s in self._by_name.items()}

    def add(self, bound: BoundSocket) -> None:
        self._by_name[bound.name] = bound

    def remove(self, name: str) -> None:
        bound = self._by_name.pop(name)
        bound.close()

    def close_all(self) -> None:
        for bound in list(self._by_name.values()):
            bound.close()
        self._by_name.clear()


def bind_all(configs: Iterable) -> SocketSet:
    """Bind every socket or none: on any failure close what was bound and name every failing address."""
    bound: list[BoundSocket] = []
    failures: list[tuple[str, str]] = []
    for cfg in configs:
        try:
            bound.append(bind_socket(cfg))
        except OSError as exc:
            failures.append((describe(cfg), exc.strerror or str(exc)))
    if failures:
        for b in bound:
            b.close()
        raise SocketBindError(failures)
    for b in bound:
        log.info("bound socket %s on %s (fd %d)", b.name, b.address, b.fd)
    return SocketSet(bound)
