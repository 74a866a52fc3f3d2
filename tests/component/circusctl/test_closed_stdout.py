"""A reader that goes away (`circusctl list web | head -1`) ends circusctl, circus-top and circusd-stats
quietly: the status a shell shows for SIGPIPE, and nothing on stderr that looks like a traceback.

The pipe's read end is closed before the program starts, so its first write meets a closed pipe
every time: no race with the reader."""

from __future__ import annotations

import os
import subprocess
import sys

from circus_web_stack.cli.exit_codes import EXIT_CLOSED_PIPE


def _run_into_closed_pipe(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", *args],
            input=stdin,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=20,
            check=False,
        )
    finally:
        os.close(write_end)


def test_circusctl_ends_quietly(responder, ctl_env):
    for argv in (("list", "web"), ("--table", "status"), ("help",), ("completion", "bash")):
        done = _run_into_closed_pipe(
            "circus_web_stack.cli.circusctl", "--endpoint", responder.endpoint, *argv, env=ctl_env
        )
        assert (done.returncode, done.stderr) == (EXIT_CLOSED_PIPE, ""), argv


def test_circusctl_shell_ends_quietly(responder, ctl_env):
    done = _run_into_closed_pipe(
        "circus_web_stack.cli.circusctl",
        "--endpoint",
        responder.endpoint,
        env=ctl_env,
        stdin="list web\nstatus\n",
    )
    assert (done.returncode, done.stderr) == (EXIT_CLOSED_PIPE, "")


def test_circus_top_ends_quietly_even_with_nothing_to_draw(short_dir):
    # Off a terminal circus-top draws only when it stops; it notices the reader's end meanwhile.
    done = _run_into_closed_pipe("circus_web_stack.cli.top", "--endpoint", f"ipc://{short_dir}/stats.sock")
    assert done.returncode == EXIT_CLOSED_PIPE
    assert done.stderr == "circus-top: stdout closed\n"


def test_circusd_stats_logging_to_stdout_stops_cleanly(short_dir):
    done = _run_into_closed_pipe(
        "circus_web_stack.cli.circusd_stats",
        *("--endpoint", f"ipc://{short_dir}/control.sock", "--pubsub", f"ipc://{short_dir}/pubsub.sock"),
        *("--statspoint", f"ipc://{short_dir}/stats.sock", "--log-output", "stdout"),
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert not (short_dir / "stats.sock").exists()  # it closed its endpoint on the way out
