"""sd_notify: tell the supervisor (circusd or systemd) 'READY=1' / 'STOPPING=1' on $NOTIFY_SOCKET.

Rule: notifying never kills the server. No NOTIFY_SOCKET means nobody is listening and nothing is
sent; a send that fails is logged once and the server keeps serving.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("chaussette")


def notify_address(value: str) -> str | bytes | None:
    """The datagram address for a NOTIFY_SOCKET value: a path, or '@name' for an abstract socket."""
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None


def sd_notify(state: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send `state` (e.g. 'READY=1') as one datagram; True if it was sent."""
    raw = environ.get("NOTIFY_SOCKET", "")
    address = notify_address(raw)
    if address is None:
        if raw:
            log.warning("NOTIFY_SOCKET=%r is neither an absolute path nor @abstract; not notifying", raw)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        log.warning("could not send %s to NOTIFY_SOCKET=%s: %s", state, raw, exc)
        return False
    return True
