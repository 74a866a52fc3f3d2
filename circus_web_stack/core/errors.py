"""The exceptions every layer shares. Pure: no I/O, stdlib only.

Each error carries the facts an operator needs (which file, line, option, command) as attributes,
and its str() is the one-line message shown to the user.
"""

from __future__ import annotations

from enum import IntEnum


class ConfigError(Exception):
    """A configuration that cannot be used; nothing was started or changed because of it."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        section: str | None = None,
        option: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.section = section
        self.option = option
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        parts = [p for p in (where, f"[{self.section}]" if self.section else "", self.option or "") if p]
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class Errno(IntEnum):
    """Circus's error numbers in control replies (circus/commands/errors.py)."""

    NOT_SPECIFIED = 0
    INVALID_JSON = 1
    UNKNOWN_COMMAND = 2
    MESSAGE_ERROR = 3
    OS_ERROR = 4
    COMMAND_ERROR = 5
    BAD_MSG_DATA_ERROR = 6


class ClientError(Exception):
    """A command that cannot be carried out as asked; becomes an error reply with its errno."""

    def __init__(self, reason: str, errno: Errno = Errno.MESSAGE_ERROR) -> None:
        self.reason = reason
        self.errno = errno
        super().__init__(reason)


class WatcherNotFound(ClientError, KeyError):
    """No watcher has that name. A KeyError too, as Circus's `arbiter.get_watcher` raises one."""

    def __str__(self) -> str:  # KeyError's own would quote the reason
        return self.reason


class SocketBindError(Exception):
    """One or more listening sockets could not be bound; none of them is left open."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        # failures: (socket description, reason) for every address that failed
        self.failures = failures
        detail = "; ".join(f"{what}: {why}" for what, why in failures)
        super().__init__(f"could not bind {len(failures)} socket(s): {detail}")


class InvalidTransition(Exception):
    """A state change that the transition table does not allow: a bug, never user input."""
