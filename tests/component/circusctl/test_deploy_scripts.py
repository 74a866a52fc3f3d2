"""circusctl as a deploy script uses it, against a real daemon: Circus's `ok` on stdout, a word on
stderr when the work goes on in the background, the daemon's reason and a failing status when a
change waited for is rolled back, and the nearest name for a mistyped one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from circus_web_stack.cli.exit_codes import EXIT_ERROR_REPLY, EXIT_OK, EXIT_USAGE


@pytest.fixture
def ctl(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
        graceful_timeout = 5
    """)
    d.wait_children(2)
    d.wait_log("control endpoint on ")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "circus_web_stack.cli.circusctl", "--endpoint", d.endpoint, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    run.daemon = d
    return run


def test_background_work_is_said_on_stderr_and_a_rollback_fails_with_waiting(ctl):
    before = set(ctl.daemon.children())
    quick = ctl("set", "web", "cmd", "BROKEN")
    assert (quick.returncode, quick.stdout) == (EXIT_OK, "ok\n")
    assert quick.stderr == "set of web started; use --waiting to wait for its outcome\n"
    waited = ctl("set", "web", "cmd", "BROKEN", "--waiting")
    assert (waited.returncode, waited.stdout) == (EXIT_ERROR_REPLY, "")
    assert waited.stderr.startswith("error: reload of web rolled back: cannot spawn 'BROKEN'")
    assert set(ctl.daemon.children()) == before  # the previous processes kept serving
    reload = ctl("reload", "web", "--waiting")
    assert (reload.returncode, reload.stdout, reload.stderr) == (EXIT_OK, "ok\n", "")
    ctl.daemon.wait_children(2)


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("status", "wbe"), EXIT_ERROR_REPLY, "error: program wbe not found (did you mean 'web'?)\n"),
        (("get", "web", "numprocess"), EXIT_ERROR_REPLY, "(did you mean 'numprocesses'?)"),
        (("set", "web", "numprocess", "3"), EXIT_USAGE, "(did you mean 'numprocesses'?)"),
        (("staus",), EXIT_USAGE, "unknown command 'staus' (did you mean 'status'?)"),
    ],
)
def test_a_mistyped_name_gets_the_nearest_valid_one(ctl, argv, code, message):
    done = ctl(*argv)
    assert (done.returncode, done.stdout) == (code, "")
    assert message in done.stderr
