"""Opening the daemon's sockets: adopted from systemd socket activation when passed, else bound.

Rule: what systemd passed (LISTEN_FDS for our pid) is taken as it is, never bound a second time; each fd
is matched to a [socket:NAME] (core.socket_activation), and the options circusd applies to a socket it
binds (backlog, TCP_NODELAY, blocking, non-inheritable in the daemon) are applied to it too. The
activation variables are removed from the environment at once, so no worker believes it was activated.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterable

from circus_web_stack.config.model import SocketConfig
from circus_web_stack.core.errors import SocketBindError
from circus_web_stack.core.socket_activation import (
    ACTIVATION_VARIABLES,
    ActivationError,
    PassedFd,
    WantedSocket,
    match_sockets,
    passed_fd_numbers,
)
from circus_web_stack.runtime.sockets import BoundSocket, SocketSet, bind_all, socket_family, socket_type

log = logging.getLogger("circus_web_stack.sockets")


def format_address(sock: socket.socket) -> str:
    """A socket's own address as core.socket_activation compares them."""
    address = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        if isinstance(address, bytes):  # abstract namespace
            return "@" + address[1:].decode("utf-8", "replace")
        return address
    host, port = address[:2]
    return f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"


def candidate_addresses(cfg: SocketConfig) -> frozenset[str]:
    """Every address a [socket:NAME] may stand for; none for port 0 (any port: match by name only)."""
    if cfg.path:
        return frozenset({cfg.path})
    if cfg.port == 0:
        return frozenset()
    family = socket_family(cfg)
    try:
        infos = socket.getaddrinfo(cfg.host, cfg.port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror:
        return frozenset()
    return frozenset(
        f"[{sockaddr[0]}]:{sockaddr[1]}" if fam == socket.AF_INET6 else f"{sockaddr[0]}:{sockaddr[1]}"
        for fam, _, _, _, sockaddr in infos
    )


def adopt(cfg: SocketConfig, fd: int) -> BoundSocket:
    sock = socket.socket(fileno=fd)
    if sock.type != socket_type(cfg):
        sock.detach()
        raise OSError(f"systemd passed a {sock.type.name} socket (fd {fd}), the config wants {cfg.type}")
    sock.set_inheritable(False)  # workers get it through pass_fds only, like a socket we bind
    if sock.type == socket.SOCK_STREAM and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as bind_socket does (Nagle)
    if sock.type in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET):
        sock.listen(cfg.backlog)  # circus.ini's backlog, on the socket as it is
    sock.setblocking(cfg.blocking)
    if sock.family == socket.AF_UNIX:
        return BoundSocket(cfg.name, sock, cfg.backlog, path=format_address(sock), adopted=True)
    host, port = sock.getsockname()[:2]
    return BoundSocket(cfg.name, sock, cfg.backlog, host=host, port=port, adopted=True)


def open_sockets(configs: Iterable[SocketConfig]) -> SocketSet:
    """Adopt the sockets systemd passed and bind the others, all or nothing (SocketBindError)."""
    env = os.environ
    configs = list(configs)
    try:
        numbers = passed_fd_numbers(env, os.getpid())
    except ActivationError as exc:
        raise SocketBindError([("socket activation", str(exc))]) from exc
    finally:
        for name in ACTIVATION_VARIABLES:
            env.pop(name, None)
    if not numbers:
        return bind_all(configs)
    passed = []
    for fd, name in numbers:
        try:
            with socket.socket(fileno=fd) as probe:
                passed.append(PassedFd(fd, name, format_address(probe)))
                probe.detach()
        except OSError as exc:
            raise SocketBindError([(f"systemd's fd {fd} ({name})", f"not a socket: {exc}")]) from exc
    matched, problems = match_sockets([WantedSocket(c.name, candidate_addresses(c)) for c in configs], passed)
    adopted: list[BoundSocket] = []
    try:
        if problems:
            raise SocketBindError([("socket activation", problem) for problem in problems])
        for cfg in configs:
            if cfg.name in matched:
                adopted.append(adopt(cfg, matched[cfg.name]))
        bound = bind_all(c for c in configs if c.name not in matched)
    except (OSError, SocketBindError) as exc:
        taken = {sock.fd for sock in adopted}
        for sock in adopted:
            sock.close()
        for item in passed:
            if item.fd not in taken:
                with contextlib.suppress(OSError):
                    os.close(item.fd)
        if isinstance(exc, SocketBindError):
            raise
        raise SocketBindError([("socket activation", str(exc))]) from exc
    for sock in adopted:
        log.info("adopted socket %s on %s (fd %d) from systemd", sock.name, sock.address, sock.fd)
    return SocketSet([*adopted, *bound])
