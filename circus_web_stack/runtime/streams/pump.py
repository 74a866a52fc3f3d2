"""pump_pipe(): one greenlet per child pipe, moving its bytes into a stream until EOF.

The rule it keeps: at most one 64 KiB read is in the daemon per pipe, and the next read waits until the
stream has taken the previous one, so a slow stream fills the pipe and blocks the child rather than the
daemon's memory; and everything the child wrote before exiting is read, because only EOF (every writer of
the pipe gone: the child and any descendant holding it) ends the pump.
"""

from __future__ import annotations

import fcntl
import logging
import os
from typing import IO

import gevent
from gevent.os import nb_read

from circus_web_stack.runtime.streams.base import Stream

logger = logging.getLogger("circus_web_stack.runtime.streams")

READ_SIZE = 64 * 1024


def pump_pipe(pipe: int | IO[bytes], stream: Stream, pid: int, name: str) -> gevent.Greenlet:
    """Starts pumping the read end of a child's pipe into `stream` as (pid, name); returns at once.

    `pipe` is a file descriptor (then the pump owns it from now on) or a file object such as a Popen's
    `stdout` (then its descriptor is duplicated and the object closed, so nothing else can close the
    descriptor under the pump). The descriptor is made non-blocking and closed when the pump ends.

    The pump ends at EOF, after stream.finish(pid, name) wrote any unfinished last line; or when the
    greenlet is killed (output still in the pipe is then not read; the unfinished line is still written,
    so give kill() a timeout if the stream may be stuck). join(timeout) waits for the end; the
    greenlet's value is the number of bytes pumped.
    """
    if isinstance(pipe, int):
        fd = pipe
    else:
        fd = os.dup(pipe.fileno())
        pipe.close()
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    greenlet = gevent.Greenlet(_pump, fd, stream, pid, name)
    greenlet.name = f"pump {name} pid={pid}"
    greenlet.start()
    return greenlet


def _pump(fd: int, stream: Stream, pid: int, name: str) -> int:
    total = 0
    try:
        while True:
            try:
                data = nb_read(fd, READ_SIZE)
            except OSError as exc:
                logger.error("reading %s of pid %d failed, its output is lost from here: %s", name, pid, exc)
                break
            if not data:
                break
            total += len(data)
            stream.write(data, pid, name)
            # A child writing as fast as the stream takes it would otherwise keep this greenlet
            # running without a switch (QueueStream never yields while it has room).
            gevent.sleep(0)
    finally:
        try:
            stream.finish(pid, name)
        finally:
            os.close(fd)
    return total
