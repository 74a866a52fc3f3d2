"""Circus's multicast discovery, only when `multicast_endpoint` is set (it is off by default): join the
group and answer any datagram with `{"endpoint": <control endpoint>}`, as Circus's discovery expects,
plus `"name"` (fqdn_prefix, else the host name) for a fleet's node list. An IPv6 group
(`udp://[ff02::1:c1c5]:12027`) is joined on the default interface."""

from __future__ import annotations

import json
import logging
import socket
import struct
from typing import Any
from urllib.parse import urlparse

import gevent
from gevent import socket as gsocket

log = logging.getLogger("circus_web_stack.multicast")


class MulticastResponder:
    def __init__(self, endpoint: str, control_endpoint: str, name: str | None = None) -> None:
        url = urlparse(endpoint)
        self.group = url.hostname or ""
        self.port = url.port or 12027
        self.reply = json.dumps({"endpoint": control_endpoint, "name": name or socket.gethostname()}).encode()
        self._sock: Any = None
        self._loop: gevent.Greenlet | None = None

    def start(self, arbiter: Any) -> None:
        six = ":" in self.group
        sock = gsocket.socket(
            socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if six:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            sock.bind(("::", self.port))
            option = socket.IPV6_JOIN_GROUP
            membership = struct.pack("16sI", socket.inet_pton(socket.AF_INET6, self.group), 0)
            level = socket.IPPROTO_IPV6
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
            sock.bind(("0.0.0.0", self.port))
            option = socket.IP_ADD_MEMBERSHIP
            membership = struct.pack("4s4s", socket.inet_aton(self.group), socket.inet_aton("0.0.0.0"))
            level = socket.IPPROTO_IP
        try:
            sock.setsockopt(level, option, membership)
        except OSError as exc:
            # No multicast-capable interface (a container): unicast queries still get answers.
            log.warning(
                "multicast discovery cannot join %s: %s; answering direct queries only", self.group, exc
            )
        self._sock = sock
        self._loop = gevent.spawn(self._serve)
        log.warning(
            "multicast discovery on udp://%s:%d tells anyone who asks where the control endpoint is",
            f"[{self.group}]" if six else self.group,
            self.port,
        )

    def _serve(self) -> None:
        while True:
            _data, peer = self._sock.recvfrom(1024)
            self._sock.sendto(self.reply, peer)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
