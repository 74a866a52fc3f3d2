"""circusctl's default text is Circus 0.19's, byte for byte: Circus's own circusctl and ours run the
same command against one daemon and their stdout (and, for an error, stderr) are compared."""

from __future__ import annotations

import re
import subprocess
import sys

from circus_web_stack.testing.waiting import wait_until

OURS = [sys.executable, "-m", "circus_web_stack.cli.circusctl"]


def _run(program: list[str], endpoint: str, args: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*program, "--endpoint", endpoint, "--timeout", "10", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _both(circus: list[str], endpoint: str, *args: str) -> tuple[str, str]:
    theirs = _run(circus, endpoint, args)
    ours = _run(OURS, endpoint, args)
    assert (theirs.returncode == 0) == (ours.returncode == 0), (args, theirs, ours)
    return theirs.stdout, ours.stdout


READ_ONLY = [
    ("list",),
    ("list", "web"),
    ("status",),
    ("status", "web"),
    ("numprocesses",),
    ("numprocesses", "web"),
    ("numwatchers",),
    ("listsockets",),
    ("options", "web"),
    ("get", "web", "numprocesses", "graceful_timeout", "env", "cmd", "use_sockets", "uid"),
    ("globaloptions",),
    ("globaloptions", "pubsub_endpoint"),
]


def test_read_only_commands_print_what_circus_prints(circus_daemon, circus_peer):
    circus = [str(circus_peer / "circusctl")]
    for args in READ_ONLY:
        theirs, ours = _both(circus, circus_daemon.endpoint, *args)
        assert ours == theirs, args
    assert re.fullmatch(r"\d+,\d+\n", _both(circus, circus_daemon.endpoint, "list", "web")[1])


def test_stats_print_what_circus_prints(circus_daemon, circus_peer):
    circus = [str(circus_peer / "circusctl")]
    # A sample is taken per call: sleep's figures hold still, but allow a moment for one to move.
    pid = str(circus_daemon.call("list", name="web")["pids"][0])
    for args in (("stats", "web"), ("stats",), ("stats", "web", pid)):

        def same(args: tuple[str, ...] = args) -> bool:
            theirs, ours = _both(circus, circus_daemon.endpoint, *args)
            return ours == theirs

        wait_until(same, 15, f"circusctl {' '.join(args)} as Circus prints it")
    theirs, ours = _both(circus, circus_daemon.endpoint, "dstats")
    # circusd's own memory and CPU move between two calls: the layout must match, not the figures.
    assert re.sub(r"\d+(\.\d+)?", "N", ours) == re.sub(r"\d+(\.\d+)?", "N", theirs)
    assert ours.startswith("Main Process:\n    ")


def test_commands_that_change_things_reply_as_circus(circus_daemon, circus_peer):
    circus = [str(circus_peer / "circusctl")]
    children = 3  # web's 2 and api.v2's 1; each command runs once from each circusctl
    steps = [
        (("incr", "web"), (1, 1)),
        (("decr", "web"), (-1, -1)),
        (("reload", "web"), (0, 0)),
        (("stop", "api.v2"), (-1, 0)),  # the second stop finds it stopped: still `ok`
        (("start", "api.v2"), (1, 0)),
        (("restart", "api.v2"), (0, 0)),
        (("signal", "api.v2", "CONT"), (0, 0)),
        (("reloadconfig",), (0, 0)),
    ]
    for args, changes in steps:
        for program, change in zip((circus, OURS), changes, strict=True):
            done = _run(program, circus_daemon.endpoint, args)
            assert (done.returncode, done.stdout) == (0, "ok\n"), (program, args, done.stderr)
            children += change
            circus_daemon.wait_children(children)
    for program in (circus, OURS):
        done = _run(program, circus_daemon.endpoint, ("set", "web", "numprocesses", "3"))
        assert (done.returncode, done.stdout) == (0, "ok\n"), (program, done.stderr)
    circus_daemon.wait_children(4)


def test_errors_read_as_circus_reads_them(circus_daemon, circus_peer):
    circus = [str(circus_peer / "circusctl")]
    theirs = _run(circus, circus_daemon.endpoint, ("options", "nope"))
    ours = _run(OURS, circus_daemon.endpoint, ("options", "nope"))
    assert theirs.returncode != 0 and ours.returncode != 0
    assert (
        (ours.stdout, ours.stderr)
        == (theirs.stdout, theirs.stderr)
        == ("", "error: program nope not found\n")
    )
