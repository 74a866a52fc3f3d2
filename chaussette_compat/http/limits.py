"""The request limits one server enforces (sizes only; timeouts belong to the connection layer).

Rule: every limit has one name here; the parser and the CLI both read it from `Limits`.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
#: The most bytes one recv() asks for; also the slack in the head-size safety net.
RECV_SIZE = 64 * KIB


@dataclass(frozen=True, slots=True)
class Limits:
    """Request size limits; 0 for max_body_size means no limit."""

    max_request_line: int = 8 * KIB
    max_header_fields: int = 100
    max_header_field_size: int = 8 * KIB
    max_body_size: int = 1024 * 1024 * KIB

    @property
    def max_head_bytes(self) -> int:
        """Bytes a request head may take before it is refused whatever its shape.

        httptools buffers a header internally until its line ends, so an endless header line would
        never reach the per-field check; this bound (every field at its maximum, plus one read)
        cannot refuse a head that the exact limits accept.
        """
        per_field = self.max_header_field_size + 4  # ": " and CRLF
        return self.max_request_line + self.max_header_fields * per_field + RECV_SIZE
