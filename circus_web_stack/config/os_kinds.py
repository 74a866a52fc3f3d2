"""Value kinds that name things of the operating system: signals, users and groups, network interfaces
and protocols, files that must exist.

Rule: as every kind (kinds.py), each accepts the ini text and the native API form and refuses anything
else naming what is valid; names are resolved against this system (signal, pwd, grp, the file system)
at load.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import signal
from typing import Any

from circus_web_stack.config.kinds import InvalidValue, Kind, Text, quoted
from circus_web_stack.core.suggest import did_you_mean

_RT_SIGNAL = re.compile(r"(?:SIG)?RT(MIN|MAX)(?:([+-])(\d+))?")


class Signal(Kind):
    """A signal: a name (TERM, SIGTERM, sigterm), a number, or SIGRTMIN+n / SIGRTMAX-n."""

    label = "a signal name or number (TERM, SIGUSR1, 15, SIGRTMIN+1)"

    def parse(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise self.refuse(raw, "a signal")
        if isinstance(raw, int):
            number = raw
        elif isinstance(raw, str):
            number = self._from_text(raw)
        else:
            raise self.refuse(raw, "a signal")
        if not 0 < number < signal.NSIG:
            raise InvalidValue(f"{quoted(raw)} is not a signal number (expected 1 to {signal.NSIG - 1})")
        return number

    def _from_text(self, raw: str) -> int:
        text = raw.strip().upper()
        if text.isdigit():
            return int(text)
        rt = _RT_SIGNAL.fullmatch(text)
        if rt:
            base = signal.SIGRTMIN if rt.group(1) == "MIN" else signal.SIGRTMAX
            offset = int(rt.group(3) or 0) * (-1 if rt.group(2) == "-" else 1)
            number = base + offset
            if not signal.SIGRTMIN <= number <= signal.SIGRTMAX:
                raise InvalidValue(f"{raw!r} is outside the real-time signals SIGRTMIN..SIGRTMAX")
            return number
        name = text if text.startswith("SIG") else "SIG" + text
        try:
            return int(signal.Signals[name])
        except KeyError:
            hint = did_you_mean(name, signal.Signals.__members__)
            raise InvalidValue(f"{quoted(raw)} is not a known signal{hint} (expected {self.label})") from None

    def to_text(self, value: Any) -> str:
        try:
            return signal.Signals(value).name
        except ValueError:
            return str(value)


class _Account(Kind):
    """A name or a numeric id, resolved to the id at load (users and groups alike)."""

    what = ""

    def lookup(self, name: str) -> int:
        raise NotImplementedError

    def parse(self, raw: Any) -> int | None:
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            return None
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        if isinstance(raw, str):
            text = raw.strip()
            if text.isdigit():
                return int(text)
            try:
                return self.lookup(text)
            except KeyError:
                raise InvalidValue(
                    f"{raw!r} is not a {self.what} on this system (expected {self.label})"
                ) from None
        raise self.refuse(raw, f"a {self.what}")


class User(_Account):
    """A user name or numeric uid, resolved to the uid at load."""

    label = "a user name or numeric uid (empty: not set)"
    what = "user"

    def lookup(self, name: str) -> int:
        return pwd.getpwnam(name).pw_uid


class Group(_Account):
    """A group name or numeric gid, resolved to the gid at load."""

    label = "a group name or numeric gid (empty: not set)"
    what = "group"

    def lookup(self, name: str) -> int:
        return grp.getgrnam(name).gr_gid


class UserName(Kind):
    """A user that must exist, kept as written (the runtime chowns to it)."""

    label = "an existing user name or uid (empty: not set)"

    def parse(self, raw: Any) -> str | None:
        uid = User().parse(raw)
        return None if uid is None else str(raw).strip()


class ExistingPath(Kind):
    """A file (or directory) that must exist at load, kept as written. A relative path is checked
    against circusd's working directory, where the daemon opens it: a key file missing is then
    refused with its config line, not met at start as a bare "Invalid certificate file"."""

    def __init__(self, *, directory: bool = False) -> None:
        self.directory = directory
        self.label = f"the path of an existing {'directory' if directory else 'file'} (empty: not set)"

    def parse(self, raw: Any) -> str | None:
        text = Text(optional=True).parse(raw)
        if text is None:
            return None
        path = os.path.abspath(text)
        if not os.path.exists(path):
            raise InvalidValue(f"{quoted(raw)}: no such {'directory' if self.directory else 'file'} ({path})")
        if self.directory != os.path.isdir(path):
            raise InvalidValue(f"{quoted(raw)} is {'not ' if self.directory else ''}a directory ({path})")
        return text


class Interface(Kind):
    """A network interface name for SO_BINDTODEVICE (at most 15 bytes, as the kernel's IFNAMSIZ)."""

    label = "a network interface name such as eth0 (empty: any)"

    def parse(self, raw: Any) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise self.refuse(raw, "an interface name")
        text = raw.strip()
        if text == "":
            return None
        if len(text.encode()) > 15 or not re.fullmatch(r"[^\s/:]+", text):
            raise self.refuse(raw, "a valid interface name")
        return text


class Proto(Kind):
    """A socket protocol: a number, or a name from /etc/protocols that the runtime resolves at bind."""

    label = "a protocol name (tcp, udp) or number (empty: the family's default)"

    def parse(self, raw: Any) -> int | str | None:
        if raw is None:
            return None
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        if isinstance(raw, str):
            text = raw.strip().lower()
            if text == "":
                return None
            if text.isdigit():
                return int(text)
            if re.fullmatch(r"[a-z][a-z0-9._+-]*", text):
                return text
        raise self.refuse(raw, "a protocol")
