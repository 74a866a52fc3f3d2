"""circusctl as a deploy script uses it, against a real daemon: Circus's `ok` on stdout, a word on
stderr when the work goes on in the background, the daemon's reason and a failing status when a
change waited for is rolled back, and the nearest name for a mistyped one."""

from __future__ import annotations

import pytest

from circus_web_stack.cli.exit_codes import EXIT_ERROR_REPLY, EXIT_OK, EXIT_USAGE


@pytest.fixture
def ctl(circus_daemon, run_ctl):
    return lambda *argv: run_ctl(*argv, endpoint=circus_daemon.endpoint, timeout=60)


def test_background_work_is_said_on_stderr_and_a_rollback_fails_with_waiting(ctl, circus_daemon):
    before = set(circus_daemon.children())
    quick = ctl("set", "web", "cmd", "BROKEN")
    assert (quick.returncode, quick.stdout) == (EXIT_OK, "ok\n")
    assert quick.stderr == "set of web started; use --waiting to wait for its outcome\n"
    waited = ctl("set", "web", "cmd", "BROKEN", "--waiting")
    assert (waited.returncode, waited.stdout) == (EXIT_ERROR_REPLY, "")
    assert waited.stderr.startswith("error: reload of web rolled back: cannot spawn 'BROKEN'")
    assert set(circus_daemon.children()) == before  # the previous processes kept serving
    reload = ctl("reload", "web", "--waiting")
    assert (reload.returncode, reload.stdout, reload.stderr) == (EXIT_OK, "ok\n", "")
    circus_daemon.wait_children(3)


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("status", "wbe"), EXIT_ERROR_REPLY, "error: program wbe not found (did you mean 'web'?)\n"),
        (("get", "web", "numprocess"), EXIT_ERROR_REPLY, "(did you mean 'numprocesses'?)"),
        (("set", "web", "numprocess", "3"), EXIT_USAGE, "(did you mean 'numprocesses'?)"),
        (("staus",), EXIT_USAGE, "unknown command 'staus' (did you mean 'status'?)"),
        (("hepl",), EXIT_USAGE, "unknown command 'hepl' (did you mean 'help'?)"),
        (("stop", "web", "--waitng"), EXIT_USAGE, "--waitng (did you mean '--waiting'?)"),
        (("--tabel", "status"), EXIT_USAGE, "--tabel (did you mean '--table'?)"),
        (("signal", "web", "SIGTREM"), EXIT_USAGE, "'SIGTREM' (did you mean 'SIGTERM'?)"),
        (("globaloptions", "endpont"), EXIT_ERROR_REPLY, "'endpont' (did you mean 'endpoint'?)"),
    ],
)
def test_a_mistyped_name_gets_the_nearest_valid_one(ctl, argv, code, message):
    done = ctl(*argv)
    assert (done.returncode, done.stdout) == (code, "")
    assert message in done.stderr


@pytest.mark.parametrize(
    ("command", "properties", "message"),
    [
        ("set", {"name": "web", "options": {"numprocess": 3}}, "unknown option 'numprocess' (did you mean"),
        ("get", {"name": "web", "keys": ["numprocess"]}, "'numprocess' (did you mean 'numprocesses'?)"),
        ("status", {"name": "wbe"}, "program wbe not found (did you mean 'web'?)"),
        ("staus", {}, "unknown command: 'staus' (did you mean 'status'?)"),
        ("status", {"nmae": "web"}, "unknown property 'nmae' for status (did you mean 'name'?)"),
        ("signal", {"name": "web", "signum": "TREM"}, "'TREM' (did you mean 'SIGTERM'?)"),
        ("globaloptions", {"option": "check_dealy"}, "'check_dealy' (did you mean 'check_delay'?)"),
    ],
)
def test_the_daemon_replies_with_the_nearest_valid_name(circus_daemon, command, properties, message):
    """What other clients (Circus's circusctl, scripts, the console) get from the daemon itself."""
    reply = circus_daemon.call(command, **properties)
    assert reply["status"] == "error" and message in reply["reason"], reply
