"""The RFC rules and request limits for the waitress backend: waitress's parser, with our head check first.

Rule: waitress parses as it does, but every head goes through `http.rules.check_raw_head` before (so
--limit-request-field-size and --limit-request-fields hold, and a second Host, HTTP/1.0 with
Transfer-Encoding, obs-fold and targets in the wrong form are refused as the gevent backend refuses
them); a refusal is answered with waitress's own error response, which closes the connection, and is
written to the access log with its reason. Only waitress's documented subclass hooks are used
(`HTTPChannel.parser_class`, `HTTPRequestParser.parse_header`, `WSGIServer.channel_class`).
"""

from __future__ import annotations

from time import time
from typing import Any, TextIO

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.utilities import Error

from ..http.access_log import TimestampCache, common_log_line
from ..http.errors import HTTPError
from ..http.limits import Limits
from ..http.rules import check_raw_head

#: What waitress parses in place of a refused head, as it does itself for a head over its size limit.
_PLACEHOLDER_HEAD = b"GET / HTTP/1.0\r\n"


class Refusal(Error):
    """One of our `HTTPError`s as a waitress error response (its status and reason)."""

    def __init__(self, err: HTTPError) -> None:
        super().__init__(err.reason)
        code, _, reason = err.status.partition(" ")
        self.code = int(code)
        self.reason = reason


def checked_channel_class(limits: Limits, access_log: TextIO | None) -> type[HTTPChannel]:
    """A waitress channel class whose parser applies our rules, logging refusals to `access_log`."""
    timestamps = TimestampCache()

    class CheckedParser(HTTPRequestParser):
        def parse_header(self, header_plus: bytes) -> None:
            try:
                check_raw_head(header_plus, limits)
            except HTTPError as err:
                super().parse_header(_PLACEHOLDER_HEAD)
                self.error = Refusal(err)
                self.completed = True
                return
            super().parse_header(header_plus)

    class CheckedChannel(HTTPChannel):
        parser_class = CheckedParser

        def service(self) -> None:
            error: Any = self.requests[0].error if self.requests else None
            if error is not None and access_log is not None:
                peer = self.addr[0] if isinstance(self.addr, tuple) else ""
                line = common_log_line(
                    str(peer),
                    "-",
                    "-",
                    "-",
                    int(error.code),
                    0,
                    timestamps.text(time()),
                    note=str(error.body),
                )
                access_log.write(line)
            super().service()

    return CheckedChannel
