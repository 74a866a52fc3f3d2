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


# A watcher that failed for good as circusd's own exit code (exit_on_failure). A failure whose
# processes exited 0 (a program that keeps ending "successfully") must still read as a failure.
EXIT_WATCHER_FAILED = 1


def daemon_exit_code(process_exit_code: int | None) -> int:
    """Circus's exit_code of the failed process (-signum if killed) -> the code circusd exits with: the
    same code, 128+N for signal N (as a shell reports it), EXIT_WATCHER_FAILED for 0 or unknown."""
    if process_exit_code is None or process_exit_code == 0:
        return EXIT_WATCHER_FAILED
    if process_exit_code < 0:
        return 128 - process_exit_code
    return process_exit_code & 0xFF or EXIT_WATCHER_FAILED
