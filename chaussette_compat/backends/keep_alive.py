"""Whether a connection may serve another request after this response: a pure decision from the
request, the app's headers, the framing chosen and the server's stop flag.

Rule: keep a connection alive only when the next request's bytes can be found: the client asked for
keep-alive, nobody said close, the body is delimited and the server is not stopping; a body the app
left unread is drained only when its length is known and at most DRAIN_LIMIT bytes remain.
"""

from __future__ import annotations

from ..http.parser import Request
from ..http.response import Framing, HeaderScan

#: The most unread request body we read and discard to keep a connection alive; past it we close.
DRAIN_LIMIT = 64 * 1024


def may_keep_alive(
    request: Request, scan: HeaderScan, framing: Framing, *, continue_sent: bool, stopping: bool
) -> bool:
    if not request.keep_alive or scan.close or framing is Framing.CLOSE or stopping:
        return False
    if request.upgrade:
        return False
    if not request.complete:
        # the client still owes (or waits to send) body bytes we will have to read or refuse
        if request.expects_continue and not continue_sent:
            return False
        if request.content_length is None or request.content_length - request.body_size > DRAIN_LIMIT:
            return False
    return True
