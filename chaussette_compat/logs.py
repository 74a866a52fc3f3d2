"""Logging setup: Chaussette's format on --log-output ('-' is stderr), shared by the access log.

Rule: one stream per process; the error log, the access log and wsgi.errors all write to it.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def open_log_stream(output: str) -> TextIO:
    """stderr for '-', else the file opened for appending, line-buffered, closed on exec."""
    if output == "-":
        return sys.stderr
    return open(output, "a", buffering=1, encoding="utf-8")


def configure_logging(level: str, stream: TextIO) -> logging.Logger:
    logger = logging.getLogger("chaussette")
    logger.setLevel(level.upper())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
    logger.handlers[:] = [handler]
    logger.propagate = False
    return logger
