"""The NOTIFY_SOCKET every child gets: workers say READY=1 there (the systemd sd_notify protocol).

An abstract unix datagram socket (no file to clean up or chmod). The sender's pid comes from the
kernel (SO_PASSCRED / SCM_CREDENTIALS), never from the message, so no process can claim readiness for
another one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
from collections.abc import Callable

import gevent
from gevent import socket as gsocket

log = logging.getLogger("circus_web_stack.readiness")

_UCRED = struct.Struct("3i")  # pid, uid, gid
MAX_DATAGRAM = 4096


def parse_notify_message(data: bytes) -> dict[str, str]:
    """`READY=1\\nSTATUS=...` -> {"READY": "1", "STATUS": "..."}; malformed lines are skipped."""
    fields: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key:
            fields[key.strip()] = value
    return fields


class NotifyServer:
    """Receives sd_notify datagrams and hands (sender pid, fields) to `on_message`."""

    def __init__(self, on_message: Callable[[int, dict[str, str]], None], name: str | None = None) -> None:
        self.address = name or f"@circus-web-stack/{os.getpid()}/{os.urandom(4).hex()}/notify"
        self._on_message = on_message
        self._sock = gsocket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        bind_to = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        self._sock.bind(bind_to)
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._serve)

    def _serve(self) -> None:
        cmsg_size = socket.CMSG_SPACE(_UCRED.size)
        while True:
            data, ancdata, _flags, _addr = self._sock.recvmsg(MAX_DATAGRAM, cmsg_size)
            pid = None
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = _UCRED.unpack(payload[: _UCRED.size])[0]
            if pid is None:
                log.debug("notify datagram without credentials ignored")
                continue
            try:
                self._on_message(pid, parse_notify_message(data))
            except Exception:
                log.exception("handling a notify message from pid %d failed", pid)

    def close(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        with contextlib.suppress(OSError):
            self._sock.close()
        if not self.address.startswith("@"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.address)
