"""Finding the daemons of a LAN through Circus's multicast discovery: one datagram to the group, and
every daemon whose responder is on (`[circus] multicast_endpoint`) answers with its control endpoint.

Rule: the query leaves on the named interface only, with a hop limit of 1, so it never crosses a
router; answers are collected until the timeout. A daemon that reports a wildcard address (0.0.0.0,
::, *) is reached at the address its answer came from. `as_nodes` (pure) turns the answers into
nodes that carry the fleet file's defaults (keys) and a `discovered` tag.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from circus_web_stack.client.fleet_file import Discovery, Fleet, Node
from circus_web_stack.config.endpoints import tcp_host

QUERY = b'{"discover": "circus-web-stack"}'
_UDP = re.compile(r"udp://\[?(?P<group>[^\]]+?)\]?:(?P<port>\d+)")
_WILDCARDS = ("0.0.0.0", "::", "*")


@dataclass(frozen=True)
class Found:
    """One answer: the daemon's name (if it says one), its control endpoint, where the answer came from."""

    endpoint: str
    address: str
    name: str | None = None


def discover(discovery: Discovery) -> list[Found]:
    """Ask the group and collect the answers for `discovery.timeout_s` seconds."""
    match = _UDP.fullmatch(discovery.endpoint)
    if match is None:
        raise ValueError(f"{discovery.endpoint!r} is not udp://GROUP:PORT")
    group, port = match["group"], int(match["port"])
    six = ":" in group
    sock = socket.socket(socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifindex = socket.if_nametoindex(discovery.interface) if discovery.interface else 0
        if six:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
            if ifindex:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
            target: tuple = (group, port, 0, ifindex)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            if ifindex:
                mreqn = struct.pack("4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"), ifindex)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            target = (group, port)
        sock.sendto(QUERY, target)
        found: dict[str, Found] = {}
        deadline = time.monotonic() + discovery.timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                break
            answer = _answer(data, peer[0].split("%")[0])
            if answer is not None:
                found.setdefault(answer.endpoint, answer)
        return list(found.values())
    finally:
        sock.close()


def _answer(data: bytes, address: str) -> Found | None:
    try:
        reply = json.loads(data)
        endpoint = str(reply["endpoint"])
    except (ValueError, KeyError, TypeError):
        return None
    host = tcp_host(endpoint)
    if host in _WILDCARDS:
        shown = f"[{address}]" if ":" in address else address
        endpoint = endpoint.replace(f"[{host}]" if ":" in host else host, shown, 1)
    name = reply.get("name")
    return Found(endpoint, address, str(name) if name else None)


def as_nodes(fleet: Fleet, found: Iterable[Found]) -> list[Node]:
    """Nodes for the answers not already in the fleet file (by endpoint), named by the daemon's name
    or else its address; with [fleet]'s defaults and the tag `discovered = yes`."""
    template = fleet.defaults or Node(name="*", endpoint="")
    known_endpoints = {n.endpoint for n in fleet.nodes}
    taken = {n.name for n in fleet.nodes}
    nodes = []
    for answer in sorted(found, key=lambda f: (f.name or "", f.endpoint)):
        if answer.endpoint in known_endpoints:
            continue
        name = answer.name or answer.address
        if name in taken:
            name = f"{name}@{answer.address}"
        taken.add(name)
        nodes.append(
            replace(
                template, name=name, endpoint=answer.endpoint, tags=(*template.tags, ("discovered", "yes"))
            )
        )
    return nodes
