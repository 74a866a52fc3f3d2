"""File streams: FileStream (size rotation), WatchedFileStream (follows logrotate), TimedRotatingFileStream.

The rule it keeps: files are opened O_APPEND and written without user-space buffering, so every line is on
disk (in the page cache) when write() returns and a `tail -f` or a copytruncate sees whole lines; rotation
cuts only between lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time

from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.log_rotation import TimedRotation, bytes_fitting, size_rotation_renames
from circus_web_stack.runtime.streams.base import Stream, write_all
from circus_web_stack.runtime.streams.options import (
    as_bool,
    as_non_negative_int,
    as_optional_str,
    as_positive_int,
    as_str,
)

logger = logging.getLogger("circus_web_stack.runtime.streams")

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_FILE_MODE = 0o666  # narrowed by the daemon's umask, as any logger's files


class _FileStreamBase(Stream):
    """Holds one log file open; subclasses decide when it is rotated or reopened."""

    def __init__(self, filename: str, time_format: str | None = None) -> None:
        super().__init__(time_format)
        self.filename = os.fspath(filename)
        if not self.filename:
            raise ConfigError("a file name is required", option="filename")
        self._fd: int | None = None
        self._size = 0
        self._identity = (-1, -1)  # (st_dev, st_ino) of the open file
        try:
            self._open_file()
        except OSError as exc:
            reason = f"cannot open {self.filename!r} for writing: {exc.strerror}"
            raise ConfigError(reason, option="filename") from None

    def _describe(self) -> str:
        return f" {self.filename}"

    def _open_file(self) -> None:
        fd = os.open(self.filename, _OPEN_FLAGS, _FILE_MODE)
        status = os.fstat(fd)
        self._fd, self._size, self._identity = fd, status.st_size, (status.st_dev, status.st_ino)

    def _close_file(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _write_file(self, data: bytes) -> None:
        if self._fd is None:  # an earlier reopen failed: try again now
            self._open_file()
        assert self._fd is not None
        write_all(self._fd, data)
        self._size += len(data)

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        self._write_file(data)

    def _reopen_sink(self) -> None:
        self._close_file()
        self._open_file()

    def _close_sink(self) -> None:
        self._close_file()


class FileStream(_FileStreamBase):
    """Appends to `filename`; with max_bytes and backup_count both set, rotates like logging's
    RotatingFileHandler: filename -> filename.1 -> ... -> filename.<backup_count>, oldest dropped.

    A file never grows past max_bytes unless a single line is longer. As in Circus and logging, max_bytes
    without backup_count never rotates (there would be nowhere to keep the old lines).
    """

    OPTIONS = {
        "filename": as_str,
        "max_bytes": as_non_negative_int,
        "backup_count": as_non_negative_int,
        "time_format": as_optional_str,
    }

    def __init__(
        self, filename: str, max_bytes: int = 0, backup_count: int = 0, time_format: str | None = None
    ) -> None:
        super().__init__(filename, time_format)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        if max_bytes > 0 and backup_count == 0:
            logger.warning("%r: max_bytes is set but backup_count is 0, so the file is never rotated", self)

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        if self.max_bytes <= 0 or self.backup_count <= 0:
            self._write_file(data)
            return
        while data:
            if self._fd is None:
                self._open_file()
            fitting = bytes_fitting(data, self._size, self.max_bytes)
            if not fitting:
                self._rotate()
                continue
            self._write_file(data[:fitting])
            data = data[fitting:]

    def _rotate(self) -> None:
        self._close_file()
        for source, target in size_rotation_renames(self.filename, self.backup_count):
            if os.path.exists(source):
                os.replace(source, target)
        self._open_file()


class WatchedFileStream(_FileStreamBase):
    """Appends to `filename` and follows external rotation (logrotate's create mode, or a deletion):
    before each write, if the path no longer names the open file, the file is reopened at the path.

    (Circus #1152: its stream kept writing to a deleted file.) Works with copytruncate too, since writes
    are O_APPEND.
    """

    OPTIONS = {"filename": as_str, "time_format": as_optional_str}

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        if self._moved():
            self._close_file()
        self._write_file(data)

    def _moved(self) -> bool:
        try:
            status = os.stat(self.filename)
        except FileNotFoundError:
            return True
        return (status.st_dev, status.st_ino) != self._identity


class TimedRotatingFileStream(_FileStreamBase):
    """Appends to `filename` and rotates on a schedule like logging's TimedRotatingFileHandler: the old
    file becomes `filename.<start of its period>` (Circus's suffixes, e.g. app.log.20240501), and
    backups beyond backup_count (0: keep all) are deleted.

    rotate_when: S, M, H, D (every rotate_interval seconds/minutes/hours/days), midnight, W0-W6
    (Monday-Sunday at midnight); utc: use UTC instead of local time for midnights and names.
    """

    OPTIONS = {
        "filename": as_str,
        "backup_count": as_non_negative_int,
        "time_format": as_optional_str,
        "rotate_when": as_str,
        "rotate_interval": as_positive_int,
        "utc": as_bool,
    }

    def __init__(
        self,
        filename: str,
        backup_count: int = 0,
        time_format: str | None = None,
        rotate_when: str = "midnight",
        rotate_interval: int = 1,
        utc: bool = False,
    ) -> None:
        self.schedule = TimedRotation.parse(rotate_when, rotate_interval, utc)
        super().__init__(filename, time_format)
        self.backup_count = backup_count
        # Like logging: an existing file's period started when it was last written, so a daemon
        # restarted after a week still rotates last week's file first.
        self.rollover_at = self.schedule.next_rollover(os.path.getmtime(self.filename))

    def _emit(self, data: bytes, pid: int, name: str) -> None:
        now = time.time()
        if now >= self.rollover_at:
            self._rotate(now)
        self._write_file(data)

    def _rotate(self, now: float) -> None:
        self._close_file()
        if os.path.exists(self.filename):
            os.replace(self.filename, f"{self.filename}.{self.schedule.backup_suffix(self.rollover_at)}")
        directory, basename = os.path.split(os.path.abspath(self.filename))
        for expired in self.schedule.expired_backups(os.listdir(directory), basename, self.backup_count):
            with contextlib.suppress(FileNotFoundError):  # someone else cleaned up first
                os.unlink(os.path.join(directory, expired))
        self.rollover_at = self.schedule.next_rollover(now)
        self._open_file()
