"""HTTP errors a request can cause before the application sees it, each with its status.

Rule: an error knows its status and a short reason for the log; the response bytes come from
`response.error_response`.
"""

from __future__ import annotations


class HTTPError(Exception):
    """A request the server refuses; `status` is the full status line text, e.g. '400 Bad Request'."""

    status = "500 Internal Server Error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadRequest(HTTPError):
    status = "400 Bad Request"


class PayloadTooLarge(HTTPError):
    status = "413 Content Too Large"


class URITooLong(HTTPError):
    status = "414 URI Too Long"


class HeaderFieldsTooLarge(HTTPError):
    status = "431 Request Header Fields Too Large"


class NotImplementedByServer(HTTPError):
    """A method or transfer coding the server does not implement (RFC 9110 15.6.2): never a 400."""

    status = "501 Not Implemented"


class VersionNotSupported(HTTPError):
    status = "505 HTTP Version Not Supported"


class ClientDisconnected(OSError):
    """The client closed the connection before sending the whole request body."""
