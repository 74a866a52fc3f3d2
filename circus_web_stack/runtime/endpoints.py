"""Binding ZeroMQ endpoints safely: a private 0700 runtime directory, 0600 ipc sockets, and TCP on a
non-loopback address only with CurveZMQ keys or an explicit `insecure = true`."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any

from circus_web_stack.config.os_kinds import User
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.protocol.endpoints import endpoint_problem, ipc_path
from circus_web_stack.runtime.sockets import accepts_connections


@dataclass(frozen=True)
class CurveKeys:
    """The daemon's CurveZMQ key pair (z85 text); clients must know the public key."""

    public: bytes
    secret: bytes


def is_loopback_tcp(endpoint: str) -> bool:
    host = endpoint[len("tcp://") :].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name or '*': reachable from elsewhere as far as we can tell


def check_endpoint(endpoint: str, *, option: str, curve: CurveKeys | None, insecure: bool) -> None:
    problem = endpoint_problem(endpoint)
    if problem:
        raise ConfigError(problem, section="circus", option=option)
    if endpoint.startswith("tcp://") and not is_loopback_tcp(endpoint) and curve is None and not insecure:
        raise ConfigError(
            f"{endpoint} is reachable from other hosts and would let anyone run any command as this user; "
            "configure curve_secret_key_file (CurveZMQ) or set 'insecure = true' in [circus]",
            section="circus",
            option=option,
        )


def bind_endpoint(
    sock: Any, endpoint: str, curve: CurveKeys | None = None, owner_uid: int | None = None
) -> None:
    """Bind a zmq socket; ipc sockets get a 0700 directory and mode 0600 so only this user connects, or
    only `owner_uid` (endpoint_owner), to whom the socket and its directory then belong."""
    sock.ipv6 = True  # tcp://[fd00::2]:5555 binds; IPv4 endpoints are unaffected
    if curve is not None:
        sock.curve_server = True
        sock.curve_publickey = curve.public
        sock.curve_secretkey = curve.secret
    path = ipc_path(endpoint)
    if path is not None:
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if os.path.exists(path):
            if accepts_connections(path):
                raise ConfigError(
                    f"{endpoint} is already in use by a running daemon "
                    "(stop it, or give this one another endpoint)"
                )
            os.unlink(path)  # stale: left by a daemon that died
        old = os.umask(0o077)
        try:
            sock.bind(endpoint)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        if owner_uid is not None:
            os.chown(directory, owner_uid, -1)
            os.chown(path, owner_uid, -1)
    else:
        sock.bind(endpoint)


def unlink_ipc(endpoint: str) -> None:
    path = ipc_path(endpoint)
    if path is not None and os.path.exists(path):
        os.unlink(path)


class StaleEndpointRemover:
    """An Extension for an endpoint a helper binds (circusd-stats' stats endpoint): when circusd
    stops, after its watchers, the ipc socket file is removed if nothing listens on it any more, as
    when the helper was SIGKILLed in a fast stop and could not remove it itself."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def start(self, arbiter: Any) -> None:
        """Nothing to do: the helper binds the endpoint."""

    def stop(self) -> None:
        path = ipc_path(self.endpoint)
        if path is not None and os.path.exists(path) and not accepts_connections(path):
            unlink_ipc(self.endpoint)


def owner_uid(config: Any) -> int | None:
    """endpoint_owner (kept as written by the config layer, which checked the user exists) as a uid."""
    return User().parse(config.daemon.endpoint_owner)
