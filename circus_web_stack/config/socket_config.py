"""[socket:NAME]: a listening socket's options, each declared once as a field of SocketConfig (see
options.py's rule).

Build it through config.loader (`load_config`, `parse_socket`), which validates. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from circus_web_stack.config.declaration import json_option_values, option
from circus_web_stack.config.kinds import Bool, Choice, Int, Octal, Text
from circus_web_stack.config.os_kinds import Interface, Proto

_SOCKET_TYPES = ("SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET")


@dataclass(frozen=True)
class SocketConfig:
    """[socket:NAME]. `family` and `type` are the socket module's constant names ('AF_INET',
    'SOCK_STREAM'); `proto` is a number, a protocol name for getprotobyname, or None. A `path` makes
    family 'AF_UNIX'. `umask` is an int (0o022)."""

    name: str
    host: str = option(Text(), "localhost", "host or address to bind")
    port: int = option(Int(0, 65535), 8080, "port to bind (0: any free port)")
    family: str = option(Choice("AF_INET", "AF_INET6", "AF_UNIX", prefix="AF_"), "AF_INET", "address family")
    type: str = option(Choice(*_SOCKET_TYPES, prefix="SOCK_"), "SOCK_STREAM", "socket type")
    proto: int | str | None = option(
        Proto(), None, "protocol name or number", default_doc="the family's default"
    )
    backlog: int = option(Int(1), 2048, "listen queue length")
    path: str | None = option(Text(optional=True), None, "unix socket path (sets family to AF_UNIX)")
    umask: int = option(
        Octal(),
        0o010,
        "umask while creating a unix socket file, in octal",
        default_doc="010 (what Circus's default 8 meant)",
    )
    replace: bool = option(Bool(), False, "remove a stale unix socket file at path before binding")
    interface: str | None = option(Interface(), None, "network interface to bind to (SO_BINDTODEVICE)")
    so_reuseport: bool = option(Bool(), False, "each process gets its own SO_REUSEPORT socket")
    blocking: bool = option(Bool(), False, "leave the inherited socket in blocking mode")
    close_when_idle: bool = option(
        Bool(),
        True,
        "stop listening while every watcher using it is stopped or gave up, so connects are refused "
        "at once (docs/circus-differences.md)",
    )

    def option_values(self) -> dict[str, Any]:
        return {"name": self.name, **json_option_values(self)}
