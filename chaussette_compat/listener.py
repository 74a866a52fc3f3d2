"""Open the listening socket: an inherited descriptor (fd://N), a unix socket, or a TCP host:port.

Rule: every TCP listener gets TCP_NODELAY (accepted sockets inherit it on Linux): without it a
response written in two sends stalls ~40 ms on delayed ACKs. Failures raise `ListenerError` naming
the address and the option at fault.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat

from .options import ListenSpec

log = logging.getLogger("chaussette")

DEFAULT_BACKLOG = 2048


class ListenerError(Exception):
    """The socket to serve on could not be opened; the message names the address and the fix."""


def _set_nodelay(sock: socket.socket) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _adopt_fd(spec: ListenSpec) -> socket.socket:
    fd = spec.fd
    assert fd is not None
    try:
        os.fstat(fd)
    except OSError:
        raise ListenerError(
            f"--fd {fd}: no such open file descriptor in this process "
            "(circusd passes sockets only to watchers with use_sockets = True)"
        ) from None
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        reason = "not a socket" if exc.errno == errno.ENOTSOCK else exc.strerror
        raise ListenerError(f"--fd {fd}: {reason}") from None
    if sock.type != socket.SOCK_STREAM:
        sock.detach()
        raise ListenerError(f"--fd {fd}: a {sock.type.name} socket; a SOCK_STREAM socket is needed")
    if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.detach()
        raise ListenerError(f"--fd {fd}: the socket is not listening (the parent must bind and listen)")
    if sock.family != spec.family:
        log.warning(
            "--fd %d is an %s socket; ignoring --address-family %s",
            fd,
            sock.family.name,
            socket.AddressFamily(spec.family).name,
        )
    if spec.backlog is not None:
        sock.listen(spec.backlog)  # listen() again on Linux just changes the queue length
    return sock


def _bind_unix(spec: ListenSpec) -> socket.socket:
    path = spec.unix_path
    assert path is not None
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)  # a stale socket from an earlier run (Chaussette removes it too)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ListenerError(f"--host unix:{path}: {exc.strerror}") from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(spec.backlog or DEFAULT_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ListenerError(f"--host unix:{path}: cannot listen: {exc.strerror}") from None
    return sock


def _bind_tcp(spec: ListenSpec) -> socket.socket:
    where = f"--host {spec.host} --port {spec.port}"
    try:
        infos = socket.getaddrinfo(
            spec.host, spec.port, spec.family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ListenerError(f"{where}: cannot resolve {spec.host!r}: {exc.strerror}") from None
    family, socktype, proto, _, address = infos[0]
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(spec.backlog or DEFAULT_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ListenerError(f"{where}: cannot listen on {address[0]}:{address[1]}: {exc.strerror}") from None
    return sock


def open_listener(spec: ListenSpec) -> socket.socket:
    """A listening stream socket for `spec`, with TCP_NODELAY set when it is TCP."""
    if spec.fd is not None:
        sock = _adopt_fd(spec)
    elif spec.unix_path is not None:
        sock = _bind_unix(spec)
    else:
        sock = _bind_tcp(spec)
    _set_nodelay(sock)
    return sock


def describe_bound(sock: socket.socket, spec: ListenSpec) -> str:
    """'127.0.0.1:8080 (fd://3)' for the log line saying where we serve."""
    name = sock.getsockname()
    if isinstance(name, tuple):
        host = f"[{name[0]}]" if ":" in str(name[0]) else name[0]
        bound = f"{host}:{name[1]}"
    else:
        bound = f"unix:{name.decode() if isinstance(name, bytes) else name}"
    return bound if spec.fd is None else f"{bound} (fd://{spec.fd})"
