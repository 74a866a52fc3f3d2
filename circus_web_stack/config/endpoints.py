"""ZeroMQ and multicast endpoint values, and which of them other hosts could reach.

Pure: an address is judged by its text alone (no name resolution), so a host name other than
`localhost` counts as reachable from the network; that errs on the safe side.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from circus_web_stack.config.kinds import InvalidValue, Kind

_TCP = re.compile(r"tcp://(?P<host>\[[^\]]+\]|[^:/\[\]]+):(?P<port>\d+|\*)")
_UDP = re.compile(r"udp://(?P<host>\[[^\]]+\]|[^:/\[\]]+):(?P<port>\d+)")


class Endpoint(Kind):
    """`tcp://HOST:PORT` or `ipc:///path`; empty means "not set" (None)."""

    label = "tcp://HOST:PORT or ipc:///path"

    def parse(self, raw: Any) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise self.refuse(raw, "an endpoint")
        text = raw.strip()
        if text == "":
            return None
        if text.startswith("ipc://"):
            if len(text) == len("ipc://"):
                raise InvalidValue(f"{raw!r} has no socket path (expected {self.label})")
            return text
        match = _TCP.fullmatch(text)
        if not match:
            raise self.refuse(raw, "a ZeroMQ endpoint")
        if match["port"] != "*" and int(match["port"]) > 65535:
            raise InvalidValue(f"{raw!r} has a port above 65535 (expected {self.label})")
        return text


class MulticastEndpoint(Kind):
    """`udp://GROUP:PORT` (an IPv6 group in brackets) for Circus's discovery responder; empty turns
    it off."""

    label = "udp://GROUP:PORT or udp://[GROUP]:PORT (empty: off)"

    def parse(self, raw: Any) -> str:
        if raw is None:
            return ""
        if not isinstance(raw, str):
            raise self.refuse(raw, "a multicast endpoint")
        text = raw.strip()
        if text == "":
            return ""
        match = _UDP.fullmatch(text)
        if not match or int(match["port"]) > 65535:
            raise self.refuse(raw, "a multicast endpoint")
        return text


class HostPort(Kind):
    """`HOST:PORT`, `[IPv6]:PORT` or a bare `PORT` (then on 127.0.0.1); empty means off (None)."""

    label = "HOST:PORT or PORT (empty: off)"

    def parse(self, raw: Any) -> str | None:
        if raw is None:
            return None
        text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else None
        if text is None:
            raise self.refuse(raw, "an address")
        if text == "":
            return None
        host, sep, port = text.rpartition(":")
        if not sep:
            host = "127.0.0.1"
        if not port.isdigit() or int(port) > 65535 or (sep and not host):
            raise self.refuse(raw, "an address")
        return f"{host}:{port}"


def split_host_port(address: str) -> tuple[str, int]:
    """`HOST:PORT` as HostPort normalised it -> (host, port), IPv6 brackets removed."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def tcp_host(endpoint: str) -> str | None:
    """The host part of a tcp:// endpoint (brackets removed), or None for any other transport."""
    match = _TCP.fullmatch(endpoint)
    if not match:
        return None
    return match["host"].strip("[]")


def is_network_reachable(endpoint: str | None) -> bool:
    """True when hosts other than this one could connect: a tcp:// endpoint not bound to loopback.

    None (the private unix socket default) and ipc:// endpoints are local. `*`, 0.0.0.0, interface
    names and host names other than localhost are reachable.
    """
    if endpoint is None:
        return False
    host = tcp_host(endpoint)
    if host is None:
        return False
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
