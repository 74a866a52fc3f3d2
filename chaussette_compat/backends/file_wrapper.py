"""wsgi.file_wrapper: lets an app hand the server a file, which the gevent backend sends with sendfile().

Rule: the wrapper works as a plain iterator everywhere; `sendfile_span()` says whether the zero-copy
path applies (a regular file with a real descriptor) and what span of the file to send.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import Any


class FileWrapper:
    """Iterate over `filelike` in `block_size` pieces; close() closes it (PEP 3333 'Optional ...')."""

    def __init__(self, filelike: Any, block_size: int = 64 * 1024) -> None:
        self.filelike = filelike
        self.block_size = block_size
        close = getattr(filelike, "close", None)
        if close is not None:
            self.close = close

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            block = read(self.block_size)
            if not block:
                return
            yield block

    def close(self) -> None:
        """Replaced by the file's own close() when it has one."""

    def sendfile_span(self) -> tuple[int, int, int] | None:
        """(fd, offset, count) to send from the file's current position to its end, or None."""
        fileno = getattr(self.filelike, "fileno", None)
        tell = getattr(self.filelike, "tell", None)
        if fileno is None or tell is None:
            return None
        try:
            fd = fileno()
            info = os.fstat(fd)
            offset = tell()
        except (OSError, ValueError, AttributeError):  # io.BytesIO.fileno raises UnsupportedOperation
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return fd, offset, max(0, info.st_size - offset)
