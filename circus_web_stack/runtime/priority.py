"""A new process starts at a lower CPU priority and gets the daemon's back once it is ready.

Why: a new worker spends its first 0.1-1 s importing the interpreter's modules and the app, a full core
for that long. At equal priority it takes that core from the workers serving requests, and a rolling
reload shows as a latency spike. At nice +N it runs on what the serving workers leave idle, until it
is ready or for LOWERED_AT_MOST_S.

Giving the priority back means lowering a nice value, which Linux allows only with CAP_SYS_NICE; without
it the processes start at the normal priority (said once in the log). Nice values only weigh against
processes of the same session (the kernel's autogroups), which is why children share circusd's session.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os

log = logging.getLogger(__name__)

CAP_SYS_NICE = 23
MAX_NICE = 19
#: A process not ready by then gets its priority back anyway: on a machine whose CPUs the serving
#: processes keep busy, a lowered process barely runs, and a reload would take many times longer
#: (measured: a Django worker took 5 s instead of 0.5 s to start).
LOWERED_AT_MOST_S = 1.0


@functools.cache
def can_restore() -> bool:
    """True if circusd may lower a nice value again: CAP_SYS_NICE in its effective capabilities (root
    has it, except in a container that drops it)."""
    allowed = _has_capability(CAP_SYS_NICE)
    if not allowed:
        log.info(
            "startup_nice is not applied: circusd lacks CAP_SYS_NICE, so it could not give a process "
            "its priority back once ready"
        )
    return allowed


def _has_capability(bit: int) -> bool:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError):
        pass
    return False


def lower(pid: int, increment: int) -> int | None:
    """Adds `increment` to the nice value of a process just spawned (it has no thread but its main one
    yet; threads it starts inherit the value). The value set, or None if it could not be set."""
    nice = min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, 0) + increment)
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError as exc:  # already gone, or not ours to change
        log.debug("cannot renice pid %d: %s", pid, exc)
        return None
    return nice


def restore(pid: int, lowered: int) -> None:
    """Every thread of `pid` still at the `lowered` nice value goes back to circusd's own; a thread that
    changed its nice value itself keeps it."""
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return  # gone
    for tid in map(int, threads):
        with contextlib.suppress(OSError):  # a thread that just ended
            if os.getpriority(os.PRIO_PROCESS, tid) == lowered:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
