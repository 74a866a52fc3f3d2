"""circusctl's default text is Circus 0.19's, byte for byte: Circus's own circusctl and ours run the
same command against one daemon and their stdout (and, for an error, stderr) are compared."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from circus_web_stack.testing.waiting import wait_until

OURS = [sys.executable, "-m", "circus_web_stack.cli.circusctl"]


@pytest.fixture
def daemon(circusd, short_dir):
    d = circusd(f"""
        [socket:web]
        host = 127.0.0.1
        port = 0
        [socket:local]
        path = {short_dir}/local.sock
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
        graceful_timeout = 5
        use_sockets = true
        [env:web]
        B = 2
        A = one
        [watcher:api.v2]
        cmd = sleep 1001
    """)
    d.wait_children(3)
    d.wait_log("control endpoint on ")
    return d


@pytest.fixture
def short_dir():
    import shutil
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="ct-"))  # a unix socket path must stay short
    yield path
    shutil.rmtree(path, ignore_errors=True)


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


def test_read_only_commands_print_what_circus_prints(daemon, circus_peer):
    circus = [str(circus_peer / "circusctl")]
    for args in READ_ONLY:
        theirs, ours = _both(circus, daemon.endpoint, *args)
        assert ours == theirs, args
    assert re.fullmatch(r"\d+,\d+\n", _both(circus, daemon.endpoint, "list", "web")[1])


def test_stats_print_what_circus_prints(daemon, circus_peer):
    circus = [str(circus_peer / "circusctl")]
    # A sample is taken per call: sleep's figures hold still, but allow a moment for one to move.
    for args in (("stats", "web"), ("stats",)):
        wait_until(
            lambda args=args: (lambda pair: pair[0] == pair[1])(_both(circus, daemon.endpoint, *args)), 15
        )
    theirs, ours = _both(circus, daemon.endpoint, "dstats")
    # circusd's own memory and CPU move between two calls: the layout must match, not the figures.
    assert re.sub(r"\d+(\.\d+)?", "N", ours) == re.sub(r"\d+(\.\d+)?", "N", theirs)
    assert ours.startswith("Main Process:\n    ")


def test_commands_that_change_things_reply_as_circus(daemon, circus_peer):
    circus = [str(circus_peer / "circusctl")]
    children = 3  # web's 2 and api.v2's 1; each command runs once from each circusctl
    for args, change in [(("incr", "web"), 1), (("decr", "web"), -1), (("reload", "web"), 0)]:
        for program in (circus, OURS):
            done = _run(program, daemon.endpoint, args)
            assert (done.returncode, done.stdout) == (0, "ok\n"), (program, args, done.stderr)
            children += change
            daemon.wait_children(children)
    for program in (circus, OURS):
        done = _run(program, daemon.endpoint, ("set", "web", "numprocesses", "3"))
        assert (done.returncode, done.stdout) == (0, "ok\n"), (program, done.stderr)
    daemon.wait_children(4)


def test_errors_read_as_circus_reads_them(daemon, circus_peer):
    circus = [str(circus_peer / "circusctl")]
    theirs = _run(circus, daemon.endpoint, ("options", "nope"))
    ours = _run(OURS, daemon.endpoint, ("options", "nope"))
    assert theirs.returncode != 0 and ours.returncode != 0
    assert (
        (ours.stdout, ours.stderr)
        == (theirs.stdout, theirs.stderr)
        == ("", "error: program nope not found\n")
    )
