"""Facts about processes, in the past tense, and how to say them to an operator.

Pure: an exit status is decoded here, once, so the log line, the `reap` event and the rollback error of
a failed deploy all describe an exit the same way.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessExited:
    """A child was reaped. `exit_code` follows Circus: the exit status, or -signum if killed by a signal."""

    watcher: str
    wid: int
    pid: int
    exit_code: int
    expected: bool  # True when the daemon asked it to stop (scale down, reload, stop, recycle)
    uptime_s: float


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe_exit(exit_code: int) -> str:
    """`exited with code 3` / `killed by SIGKILL (out of memory?)` / `exited cleanly`."""
    if exit_code == 0:
        return "exited cleanly"
    if exit_code > 0:
        return f"exited with code {exit_code}"
    signum = -exit_code
    text = f"killed by {signal_name(signum)}"
    if signum == signal.SIGKILL:
        # An unrequested SIGKILL is most often the kernel's OOM killer; say so, as gunicorn does.
        text += " (out of memory?)"
    return text
