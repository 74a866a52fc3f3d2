"""systemd socket activation, the pure part: which passed fds are ours, and which [socket:NAME] each is.

The protocol (sd_listen_fds(3)): fds 3 .. 3+LISTEN_FDS-1 are listening sockets, meant for the process
whose pid is LISTEN_PID; LISTEN_FDNAMES names them, colon-separated (FileDescriptorName=, by default
the socket unit's name). Rule: a passed fd is matched to a [socket:NAME] by its name first, then by its
address; an fd matching no section, or a section matched twice, is reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SD_LISTEN_FDS_START = 3
ACTIVATION_VARIABLES = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


class ActivationError(ValueError):
    """The activation environment or the passed sockets do not fit the config; says which and why."""


@dataclass(frozen=True)
class PassedFd:
    """One fd systemd passed: its number, its name, and its address ("127.0.0.1:8000",
    "[::1]:8000" or a unix path)."""

    fd: int
    name: str
    address: str


@dataclass(frozen=True)
class WantedSocket:
    """A [socket:NAME] and every address its host:port may mean (after name resolution)."""

    name: str
    addresses: frozenset[str]


def passed_fd_numbers(env: Mapping[str, str], pid: int) -> list[tuple[int, str]]:
    """(fd, name) of every socket passed to process `pid`; [] when none are, or they are for another
    process (a parent that did not unset LISTEN_PID). Raises ActivationError for malformed values."""
    if "LISTEN_FDS" not in env:
        return []
    listen_pid = env.get("LISTEN_PID", "")
    if not listen_pid.isdigit():
        raise ActivationError(f"LISTEN_PID={listen_pid!r} is not a pid")
    if int(listen_pid) != pid:
        return []
    count_text = env["LISTEN_FDS"]
    if not count_text.isdigit():
        raise ActivationError(f"LISTEN_FDS={count_text!r} is not a count of sockets")
    count = int(count_text)
    names = env.get("LISTEN_FDNAMES", "").split(":") if env.get("LISTEN_FDNAMES") else []
    if names and len(names) != count:
        raise ActivationError(f"LISTEN_FDNAMES names {len(names)} sockets but LISTEN_FDS={count}")
    return [(SD_LISTEN_FDS_START + i, names[i] if names else "unknown") for i in range(count)]


def match_sockets(
    wanted: Iterable[WantedSocket], passed: Iterable[PassedFd]
) -> tuple[dict[str, int], list[str]]:
    """({socket name: fd}, problems). Each fd goes to the section of its name, else to the section
    whose address is its own; an fd that fits none is a problem (it would listen with nobody to
    accept), as is an address two sections could take."""
    wanted = list(wanted)
    by_name = {w.name: w for w in wanted}
    matched: dict[str, int] = {}
    problems: list[str] = []
    for fd in passed:
        target = by_name.get(fd.name)
        if target is None:
            fits = [w for w in wanted if fd.address in w.addresses]
            if len(fits) > 1:
                names = ", ".join(f"[socket:{w.name}]" for w in fits)
                problems.append(
                    f"fd {fd.fd} ({fd.name}, {fd.address}) fits {names}: name it with FileDescriptorName="
                )
                continue
            target = fits[0] if fits else None
        if target is None:
            problems.append(
                f"fd {fd.fd} ({fd.name}, {fd.address}) matches no [socket:NAME] by name or address; "
                "set FileDescriptorName= to a socket's name"
            )
        elif target.name in matched:
            problems.append(
                f"[socket:{target.name}] is passed twice (fds {matched[target.name]} and {fd.fd})"
            )
        else:
            matched[target.name] = fd.fd
    return matched, problems
