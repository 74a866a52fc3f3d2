"""The fork/exec boundary, the one child reaper, and the orphan reaper of PID 1 (and of a subreaper).

THE REAPER: every child gets a pidfd (pidfd_open, Linux >= 5.3) the moment it is spawned; `wait_exit`
blocks its greenlet on that fd with a gevent io watcher and, once the kernel marks it readable, calls
waitpid on that one pid. No SIGCHLD handler reaps, and gevent's child watchers are never used: we never
monkey-patch os or subprocess, and we spawn with the stdlib's subprocess.Popen (vfork + exec in C), never
gevent.subprocess or gevent.os.fork. Compared with a `waitpid(-1)` loop on SIGCHLD, a pidfd never reaps a
child someone else owns and needs no signal handler; compared with Circus's 5 s polling tick, an exit is
seen within a millisecond.

THE ORPHAN REAPER (`reap_orphans`, run by runtime/orphans.py only when circusd is PID 1 or a child
subreaper): processes our workers leave behind are re-parented to us and would stay zombies, since no
pidfd watches them. It lists our children (/proc/self/task/*/children) and reaps, with
waitid(P_PID, pid, WNOHANG), only those NOT in `_tracked`, the pids `spawn` returned and `wait_exit` has
not reaped yet. It never waits on -1 or on a tracked pid, so it cannot take a watcher's exit status.
That holds because `spawn` registers the pid before it returns and both run on the hub's thread: the
reaper cannot run between the fork and the registration. What it can take is the status of a child
that other code forks and waits for later: a hook's `subprocess.Popen` left running, or one started
in a thread of the hook's. Python's Popen then reads that status as 0. The daemon itself starts none.

The child side ends in exec (Popen); the only Python that runs between fork and exec is the rlimit
preexec function, used only when the watcher sets rlimit_* options.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import pwd
import resource
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import gevent

from circus_web_stack.runtime.process_tree import children_of

_RLIMITS = {
    name[len("RLIMIT_") :].lower(): getattr(resource, name)
    for name in dir(resource)
    if name.startswith("RLIMIT_")
}


# pid -> Child for every child spawned and not reaped yet: the pids the orphan reaper must not touch.
_tracked: dict[int, Child] = {}


@dataclass(frozen=True)
class SpawnSpec:
    """Everything needed to start one child; built by the watcher, executed here."""

    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: str | None = None
    executable: str | None = None
    shell: bool = False
    pass_fds: tuple[int, ...] = ()
    stdin: int | None = None  # an fd to dup onto 0 (stdin_socket); None: /dev/null or inherited
    close_stdin: bool = True
    capture_stdout: bool = False
    capture_stderr: bool = False
    close_stdout: bool = False
    close_stderr: bool = False
    uid: int | None = None
    gid: int | None = None
    umask: int | None = None
    rlimits: Mapping[str, int | None] = field(default_factory=dict)


@dataclass
class Child:
    """A spawned, not yet reaped child. Its pid cannot be reused until `wait_exit` reaps it."""

    pid: int
    popen: subprocess.Popen
    pidfd: int
    stdout_fd: int | None
    stderr_fd: int | None


def _stream_arg(capture: bool, close: bool) -> int | None:
    if capture:
        return subprocess.PIPE
    return subprocess.DEVNULL if close else None


def _rlimit_setter(rlimits: Mapping[str, int | None]):
    items = [
        (_RLIMITS[name], resource.RLIM_INFINITY if value is None else value)
        for name, value in rlimits.items()
    ]

    def apply_rlimits() -> None:  # runs in the child between fork and exec: keep it tiny
        for which, value in items:
            try:
                resource.setrlimit(which, (value, value))
            except ValueError:
                # Above the hard limit (typical for NOFILE as non-root): take the hard limit, as Circus does.
                hard = resource.getrlimit(which)[1]
                resource.setrlimit(which, (min(value, hard), hard))

    return apply_rlimits


@functools.lru_cache(maxsize=64)
def supplementary_groups(uid: int, gid: int) -> list[int] | None:
    """The user's groups (initgroups), read once per user: the password and group files are blocking
    reads, and a watcher of a thousand processes would read them a thousand times on the hub."""
    try:
        return os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)
    except KeyError:
        return None


def spawn(spec: SpawnSpec) -> Child:
    """Start the child in its own process group (as supervisord does) so that a signal meant for the
    daemon's terminal never reaches it, and so that the group can be killed as a whole. Not in a session of
    its own (Circus's setsid): the kernel weighs CPU between sessions before nice values, so with a
    session per child neither startup_nice nor an operator's renice could favour one process over
    another.
    Raises OSError (e.g. FileNotFoundError for a missing command) when exec fails."""
    stdin = spec.stdin if spec.stdin is not None else (subprocess.DEVNULL if spec.close_stdin else None)
    extra_groups = (
        supplementary_groups(spec.uid, spec.gid) if spec.uid is not None and spec.gid is not None else None
    )
    popen = subprocess.Popen(
        # With shell, argv is [command line, *shell_args]: Popen runs /bin/sh -c 'line' args...
        list(spec.argv),
        executable=spec.executable,
        cwd=spec.cwd,
        env=dict(spec.env),
        shell=spec.shell,
        stdin=stdin,
        stdout=_stream_arg(spec.capture_stdout, spec.close_stdout),
        stderr=_stream_arg(spec.capture_stderr, spec.close_stderr),
        pass_fds=spec.pass_fds,
        close_fds=True,
        process_group=0,
        user=spec.uid,
        group=spec.gid,
        extra_groups=extra_groups,
        umask=-1 if spec.umask is None else spec.umask,
        preexec_fn=_rlimit_setter(spec.rlimits) if spec.rlimits else None,
    )
    pidfd = os.pidfd_open(popen.pid)
    stdout_fd = popen.stdout.detach() if popen.stdout else None  # the pump owns the raw fd from here
    stderr_fd = popen.stderr.detach() if popen.stderr else None
    popen.stdout = popen.stderr = None
    child = Child(popen.pid, popen, pidfd, stdout_fd, stderr_fd)
    _tracked[child.pid] = child
    return child


def wait_exit(child: Child) -> int:
    """Block this greenlet until the child exits; reap it; return Circus's exit_code (-signum if
    killed by a signal)."""
    hub = gevent.get_hub()
    watcher = hub.loop.io(child.pidfd, 1)
    try:
        hub.wait(watcher)
    finally:
        watcher.close()
    try:
        _, status = os.waitpid(child.pid, 0)
        code = os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        # Someone else reaped it (an embedding program with its own SIGCHLD handling): it is gone,
        # with an unknown status.
        code = -1
    finally:
        os.close(child.pidfd)
        _tracked.pop(child.pid, None)
    # Tell Popen the child is gone, or its finalizer would waitpid() a pid that may be reused by then.
    child.popen.returncode = code
    return code


def child_pids() -> list[int]:
    """This process's children, zombies included, from /proc/self/task/*/children (one file per thread,
    CONFIG_PROC_CHILDREN); without it, from a pass over every /proc/PID/stat."""
    listings = glob.glob("/proc/self/task/*/children")
    if not listings:
        return children_of(os.getpid())
    pids: list[int] = []
    for listing in listings:
        with contextlib.suppress(OSError), open(listing) as f:
            pids += [int(word) for word in f.read().split()]
    return pids


def reap_orphans() -> list[tuple[int, int]]:
    """Reap every exited child that `spawn` did not start (orphans re-parented to us); never a tracked
    one. Returns (pid, exit_code) of each reaped, exit_code as `wait_exit` reports it."""
    reaped = []
    for pid in child_pids():
        if pid in _tracked:
            continue
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG)
        except ChildProcessError:  # gone meanwhile (reaped elsewhere, or never ours)
            continue
        if info is None:  # alive: an orphan still running, reaped when it exits
            continue
        code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        reaped.append((pid, code))
    return reaped
