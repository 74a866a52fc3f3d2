"""What the server reads of a gevent connection: its state and its deadline, and the error a
connection's own I/O raises when the client is gone.

Rule: a connection sets `state` and `deadline` around every blocking receive and send; the server's
reaper closes a connection past its deadline and the graceful stop closes idle ones, reading nothing
else (see `gevent_server.GeventServer`).
"""

from __future__ import annotations

IDLE = "idle"  # between requests (keep-alive), nothing received yet
READING_HEAD = "reading head"  # a fresh connection, or part of a head received
BUSY = "busy"  # the app runs, or we write
READING_BODY = "reading body"  # the app waits for more of the request body
WRITING = "writing"  # a send is in progress

NO_DEADLINE = float("inf")


class ConnectionLost(Exception):
    """Our own send or receive failed: the client went away (or the reaper cut it off)."""
