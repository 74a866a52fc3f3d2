"""How to say what happened to a process: an exit status decoded once, so the log line and the
rollback error of a failed deploy describe an exit the same way. Pure."""

from __future__ import annotations

import signal


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe_exit(exit_code: int, *, killed_by_us: bool = False) -> str:
    """`exited with code 3` / `killed by SIGKILL (out of memory?)` / `exited cleanly`. `killed_by_us`:
    circusd itself sent the SIGKILL (graceful_timeout ran out), so the OOM killer is not the suspect."""
    if exit_code == 0:
        return "exited cleanly"
    if exit_code > 0:
        return f"exited with code {exit_code}"
    signum = -exit_code
    text = f"killed by {signal_name(signum)}"
    if signum == signal.SIGKILL and killed_by_us:
        text += " (sent by circusd after graceful_timeout)"
    elif signum == signal.SIGKILL:
        # An unrequested SIGKILL is most often the kernel's OOM killer; say so, as gunicorn does.
        text += " (out of memory?)"
    return text
