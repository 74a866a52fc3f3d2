"""Trusted proxies: which peers may set X-Forwarded-For / X-Forwarded-Proto, and what those mean.

Rule: forwarded headers from a trusted peer rewrite REMOTE_ADDR and wsgi.url_scheme; from any other
peer they are removed from the environ, so an app that reads them itself cannot be fooled either.
Only the rightmost X-Forwarded-For entry is used: it is the address the trusted proxy saw; entries to
its left were written by the client and may be forged.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Loopback, and unix-socket peers (only local processes that may open the socket file can connect).
DEFAULT_TRUSTED = "127.0.0.1,::1,unix"

_FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"
_FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"
_SCHEMES = {"http": "http", "https": "https"}


@dataclass(frozen=True)
class TrustedProxies:
    """A set of trusted peers: networks, '*' for every peer, 'unix' for unix-socket peers."""

    networks: tuple[IPNetwork, ...] = ()
    trust_all: bool = False
    trust_unix: bool = False

    @classmethod
    def parse(cls, spec: str) -> TrustedProxies:
        """Parse a comma-separated list such as '127.0.0.1,10.0.0.0/8,::1,unix' (empty: trust none).

        Raises ValueError naming the first entry that is neither an address, a network, '*' nor 'unix'.
        """
        networks: list[IPNetwork] = []
        trust_all = trust_unix = False
        for raw in spec.split(","):
            entry = raw.strip()
            if not entry:
                continue
            if entry == "*":
                trust_all = True
            elif entry.lower() == "unix":
                trust_unix = True
            else:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(
                        f"{entry!r} is not an IP address, a network (10.0.0.0/8), '*' or 'unix'"
                    ) from None
        return cls(tuple(networks), trust_all, trust_unix)

    def trusts(self, peer_addr: str) -> bool:
        """Whether a peer at `peer_addr` ('' for a unix-socket peer) may set forwarded headers."""
        if self.trust_all:
            return True
        if not peer_addr:
            return self.trust_unix
        try:
            address = ipaddress.ip_address(peer_addr.partition("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


def client_address(forwarded_for: str) -> str | None:
    """The rightmost address in an X-Forwarded-For value, without a port; None if it is not an IP."""
    entry = forwarded_for.rpartition(",")[2].strip()
    if entry.startswith("["):  # "[2001:db8::1]:443"
        entry = entry[1 : entry.find("]")] if "]" in entry else ""
    elif entry.count(":") == 1:  # "203.0.113.7:5678"
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def apply_forwarded(environ: dict[str, object], trusted: bool) -> None:
    """Rewrite REMOTE_ADDR and wsgi.url_scheme from a trusted peer's headers, or drop untrusted ones."""
    if not trusted:
        environ.pop(_FORWARDED_FOR, None)
        environ.pop(_FORWARDED_PROTO, None)
        return
    forwarded_for = environ.get(_FORWARDED_FOR)
    if forwarded_for is not None:
        address = client_address(str(forwarded_for))
        if address is not None:
            environ["REMOTE_ADDR"] = address
    proto = environ.get(_FORWARDED_PROTO)
    if proto is not None:
        scheme = _SCHEMES.get(str(proto).rpartition(",")[2].strip().lower())
        if scheme is not None:
            environ["wsgi.url_scheme"] = scheme
