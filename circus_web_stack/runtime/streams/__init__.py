"""Where child processes' stdout/stderr go: Circus's stream classes, open_stream() and pump_pipe().

The rule it keeps: the daemon holds at most one read and one unfinished line per pipe, lines from
processes sharing a stream never interleave, and no sink I/O runs on the hub (see base.py for why).
"""

from circus_web_stack.runtime.streams.base import Stream
from circus_web_stack.runtime.streams.callable_stream import CallableStream
from circus_web_stack.runtime.streams.console import FancyStdoutStream, InheritedStderr, StdoutStream
from circus_web_stack.runtime.streams.factory import STREAM_CLASSES, open_stream
from circus_web_stack.runtime.streams.files import FileStream, TimedRotatingFileStream, WatchedFileStream
from circus_web_stack.runtime.streams.pump import pump_pipe
from circus_web_stack.runtime.streams.queue_stream import QueueStream

__all__ = [
    "STREAM_CLASSES",
    "CallableStream",
    "FancyStdoutStream",
    "FileStream",
    "InheritedStderr",
    "QueueStream",
    "StdoutStream",
    "Stream",
    "TimedRotatingFileStream",
    "WatchedFileStream",
    "open_stream",
    "pump_pipe",
]
