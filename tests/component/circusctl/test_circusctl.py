"""circusctl as a real subprocess against a real ROUTER on ipc://: argv to request, rendering, exit
codes, --json, help, completion, the shell through a pipe, and listen."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
import zmq

from circus_web_stack.cli.exit_codes import EXIT_ERROR_REPLY, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE
from circus_web_stack.protocol import pubsub


def test_status_of_all_watchers(responder, run_ctl):
    result = run_ctl("status", endpoint=responder.endpoint)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout == "api.v2: stopped\nweb: active\n"  # Circus's text: `awk -F': '` reads it
    table = run_ctl("status", "--table", endpoint=responder.endpoint)
    assert table.stdout == "api.v2: stopped\nweb:    active\n"
    [request, _] = responder.received("status")
    assert request.properties == {} and isinstance(request.id, str) and len(request.id) == 32


def test_status_of_one_watcher_prints_the_state_only(responder, run_ctl):
    result = run_ctl("status", "web", endpoint=responder.endpoint)
    assert (result.returncode, result.stdout) == (EXIT_OK, "active\n")


@pytest.mark.parametrize(
    ("argv", "command", "properties"),
    [
        (["incr", "web", "2", "--waiting"], "incr", {"name": "web", "nb": 2, "waiting": True}),
        (
            ["get", "web", "numprocesses", "graceful_timeout"],
            "get",
            {"name": "web", "keys": ["numprocesses", "graceful_timeout"]},
        ),
        (["set", "web", "numprocesses", "3"], "set", {"name": "web", "options": {"numprocesses": 3}}),
        (["signal", "web", "USR1"], "signal", {"name": "web", "signum": int(signal.SIGUSR1)}),
        (
            ["signal", "web", "--children", "42", "SIGHUP"],
            "signal",
            {"name": "web", "pid": 42, "signum": 1, "children": True},
        ),
        (["stats", "--extended", "web", "42"], "stats", {"name": "web", "process": 42, "extended": True}),
        (
            ["add", "--start", "web", "python app.py"],
            "add",
            {"name": "web", "cmd": "python app.py", "start": True},
        ),
        (
            [
                "add",
                "web",
                "--option",
                "use_sockets=yes",
                "--option=numprocesses=2",
                "--",
                "python",
                "-m",
                "app",
            ],
            "add",
            {
                "name": "web",
                "cmd": "python",
                "args": ["-m", "app"],
                "options": {"use_sockets": True, "numprocesses": 2},
            },
        ),
        (
            ["reload", "web", "--terminate", "--sequential"],
            "reload",
            {"name": "web", "graceful": False, "sequential": True},
        ),
        (
            ["kill", "web", "--signum=KILL", "--graceful-timeout", "2"],
            "kill",
            {"name": "web", "signum": 9, "graceful_timeout": 2.0},
        ),
        (["start", "web*", "--match=glob"], "start", {"name": "web*", "match": "glob"}),
        (["rm", "web", "--nostop", "--waiting"], "rm", {"name": "web", "nostop": True, "waiting": True}),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_argv_maps_to_the_request(responder, run_ctl, argv, command, properties):
    result = run_ctl(*argv, endpoint=responder.endpoint)
    assert result.returncode == EXIT_OK, result.stderr
    [frames] = responder.raw
    sent = json.loads(frames[-1])
    assert (sent["command"], sent["properties"]) == (command, properties)
    assert "msg_type" not in sent


def test_replies_are_rendered(responder, run_ctl):
    assert run_ctl("incr", "web", endpoint=responder.endpoint).stdout == "3\n"
    assert run_ctl("get", "web", "numprocesses", endpoint=responder.endpoint).stdout == "numprocesses: 2\n"
    assert run_ctl("list", endpoint=responder.endpoint).stdout == "api.v2,web\n"
    assert run_ctl("list", "web", endpoint=responder.endpoint).stdout == "4121,4122\n"
    assert run_ctl("--table", "list", endpoint=responder.endpoint).stdout == "api.v2\nweb\n"
    assert run_ctl("list", "web", "--table", endpoint=responder.endpoint).stdout == "4121\n4122\n"
    assert run_ctl("stop", "web", endpoint=responder.endpoint).stdout == "ok\n"


def test_global_options_may_follow_the_command(responder, run_ctl):
    result = run_ctl("list", "web", "--json", endpoint=responder.endpoint)
    assert json.loads(result.stdout)["pids"] == [4121, 4122]


def test_json_and_prettify(responder, run_ctl):
    raw = run_ctl("--json", "status", "web", endpoint=responder.endpoint)
    reply = json.loads(raw.stdout)
    assert reply["status"] == "active" and reply["id"] == responder.received("status")[0].id
    pretty = run_ctl("--prettify", "status", "web", endpoint=responder.endpoint)
    assert pretty.stdout.startswith("{\n  ") and json.loads(pretty.stdout)["status"] == "active"


def test_error_reply_exits_1(responder, run_ctl):
    result = run_ctl("status", "nope", endpoint=responder.endpoint)
    assert result.returncode == EXIT_ERROR_REPLY
    assert result.stderr == "error: program nope not found\n" and result.stdout == ""
    as_json = run_ctl("--json", "status", "nope", endpoint=responder.endpoint)
    assert as_json.returncode == EXIT_ERROR_REPLY and json.loads(as_json.stdout)["errno"] == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["incr"], "incr: missing argument(s); it needs <name>"),
        (["nosuch"], "unknown command 'nosuch'"),
        (["--bogus", "status"], "unrecognized arguments"),
        (["set", "web", "numprocesses"], "set: missing argument(s)"),
        (["signal", "web", "FOO"], "signal: signal invalid: 'FOO'"),
        (["start", "--match=fuzzy"], "invalid choice: 'fuzzy'"),
        (["--timeout", "0", "list"], "must be more than 0"),
        (["completion", "zsh"], "only bash is supported"),
    ],
)
def test_usage_errors_exit_2_without_sending(responder, run_ctl, argv, message):
    result = run_ctl(*argv, endpoint=responder.endpoint)
    assert result.returncode == EXIT_USAGE
    assert message in result.stderr
    assert responder.raw == []


def test_missing_ipc_socket_exits_3_at_once(run_ctl, short_dir):
    started = time.monotonic()
    result = run_ctl("status")  # the default endpoint: CIRCUS_RUNTIME_DIR points at an empty place
    assert result.returncode == EXIT_UNREACHABLE
    assert f"no control socket at {short_dir}/no-daemon-here/control.sock" in result.stderr
    assert "is circusd running?" in result.stderr and "CIRCUSCTL_ENDPOINT" in result.stderr
    assert time.monotonic() - started < 5


def test_dead_tcp_endpoint_exits_3_after_the_timeout(run_ctl):
    with zmq.Context() as context, context.socket(zmq.ROUTER) as probe:
        port = probe.bind_to_random_port("tcp://127.0.0.1")
        probe.close(linger=0)  # nothing listens there any more
    result = run_ctl("--timeout", "0.3", "status", endpoint=f"tcp://127.0.0.1:{port}")
    assert result.returncode == EXIT_UNREACHABLE
    assert f"could not connect to tcp://127.0.0.1:{port} within 0.3s" in result.stderr
    assert "is circusd running" in result.stderr


def test_daemon_that_does_not_answer_exits_3(responder, run_ctl):
    responder.silent = True
    result = run_ctl("--timeout", "0.3", "quit", "--waiting", endpoint=responder.endpoint)
    assert result.returncode == EXIT_UNREACHABLE
    assert "no reply to quit" in result.stderr and "raise --timeout" in result.stderr


def test_help(run_ctl):
    general = run_ctl("help")
    assert general.returncode == EXIT_OK and "incr" in general.stdout and "exit codes" in general.stdout
    assert run_ctl("--help").stdout == general.stdout
    incr = run_ctl("help", "incr")
    assert incr.stdout.startswith("usage: circusctl incr <name> [<nb>] [--waiting]\n")
    assert run_ctl("incr", "--help").stdout == incr.stdout
    assert run_ctl("help", "nosuch").returncode == EXIT_USAGE
    assert run_ctl("--version").stdout.startswith("circusctl ")


def test_interactive_shell_through_a_pipe(responder, run_ctl, short_dir):
    result = run_ctl(stdin="list\nstatus web\n\nincr\nget web numprocesses\n", endpoint=responder.endpoint)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout == "api.v2,web\nactive\nnumprocesses: 2\n"
    assert "incr: missing argument(s)" in result.stderr  # a bad line does not end the shell
    assert [r.command for r in responder.requests] == ["list", "status", "get"]
    assert not (short_dir / ".circusctl_history").exists()  # history only for a terminal


def test_shell_returns_the_last_status(responder, run_ctl):
    assert run_ctl(stdin="status nope\n", endpoint=responder.endpoint).returncode == EXIT_ERROR_REPLY
    assert run_ctl(stdin="help\nexit\nstatus nope\n", endpoint=responder.endpoint).returncode == EXIT_OK


def test_bash_completion(responder, run_ctl, ctl_env):
    script = run_ctl("completion", "bash")
    assert script.returncode == EXIT_OK
    assert "complete -F _circusctl circusctl" in script.stdout

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        call = f'COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _circusctl; echo "${{COMPREPLY[@]}}"'
        program = f"{script.stdout}\n{call}"
        done = subprocess.run(
            ["bash", "-c", program], capture_output=True, text=True, env=ctl_env, timeout=10, check=True
        )
        return done.stdout.split()

    assert complete("circusctl", "inc") == ["incr"]
    assert complete("circusctl", "reload", "--s") == ["--sequential"]
    assert complete("circusctl", "--endpoint", responder.endpoint, "incr", "") == ["api.v2", "web"]
    assert complete("circusctl", "--endpoint", responder.endpoint, "incr", "web", "") == []


def test_listen_prints_events_until_interrupted(responder, run_ctl, ctl_env, short_dir):
    pub_endpoint = f"ipc://{short_dir}/pubsub.sock"
    with zmq.Context() as context, context.socket(zmq.PUB) as pub:
        pub.setsockopt(zmq.LINGER, 0)
        pub.bind(pub_endpoint)
        args = [sys.executable, "-m", "circus_web_stack.cli.circusctl", "--endpoint", responder.endpoint]
        proc = subprocess.Popen(
            [*args, "listen", "watcher.web."], stdout=subprocess.PIPE, text=True, env=ctl_env
        )
        try:
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
            deadline = time.monotonic() + 10
            line = None
            while line is None and time.monotonic() < deadline:
                # A SUB misses what is published before its subscription lands: repeat until seen.
                pub.send_multipart(pubsub.encode_event("api", "spawn", pubsub.spawn_payload(1, 1.0)))
                pub.send_multipart(pubsub.encode_event("web", "spawn", pubsub.spawn_payload(4121, 2.0)))
                with contextlib.suppress(queue.Empty):
                    line = lines.get(timeout=0.05)
            assert line == 'watcher.web.spawn: {"process_pid": 4121, "time": 2.0}\n'
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=5) == EXIT_OK
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert responder.received("globaloptions")


def test_curve_options(short_dir, run_ctl):
    import zmq.auth

    from tests.component.circusctl.conftest import canned_handlers
    from tests.component.circusctl.responder import Responder

    server_public_file, server_secret_file = zmq.auth.create_certificates(str(short_dir), "server")
    _, client_secret_file = zmq.auth.create_certificates(str(short_dir), "client")
    server = Responder(
        f"ipc://{short_dir}/curve.sock",
        canned_handlers(),
        curve_secret_key=zmq.auth.load_certificate(server_secret_file)[1],
    )
    try:
        args = ["--curve-server-key", server_public_file, "--curve-client-key", client_secret_file]
        result = run_ctl(*args, "status", "web", endpoint=server.endpoint)
        assert (result.returncode, result.stdout) == (EXIT_OK, "active\n"), result.stderr
        plain = run_ctl("--timeout", "0.3", "status", endpoint=server.endpoint)
        assert plain.returncode == EXIT_UNREACHABLE
        bad = run_ctl("--curve-client-key", client_secret_file, "status", endpoint=server.endpoint)
        assert bad.returncode == EXIT_USAGE and "needs --curve-server-key" in bad.stderr
    finally:
        server.close()


def test_shell_on_a_terminal_completes_names_and_keeps_history(responder, ctl_env, short_dir):
    import os
    import pty
    import select

    master, slave = pty.openpty()
    args = [sys.executable, "-m", "circus_web_stack.cli.circusctl", "--endpoint", responder.endpoint]
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env={**ctl_env, "TERM": "dumb"})
    os.close(slave)
    seen = b""

    def wait_for(text: bytes, count: int = 1) -> None:
        nonlocal seen
        deadline = time.monotonic() + 10
        while seen.count(text) < count:
            assert time.monotonic() < deadline, f"no {text!r} x{count} in {seen!r}"
            if select.select([master], [], [], 0.05)[0]:
                seen += os.read(master, 4096)

    # Type only at a prompt: readline puts the terminal in raw mode while it reads a line, and
    # keys typed before that go through the tty's line editing instead.
    try:
        wait_for(b"circusctl) ", 1)
        os.write(master, b"statu\t w\t\n")  # tab completes the command, then the watcher name
        wait_for(b"circusctl) ", 2)
        os.write(master, b"list\n")
        wait_for(b"circusctl) ", 3)
        os.write(master, b"\x04")  # Ctrl-D
        assert proc.wait(timeout=5) == EXIT_OK
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert b"status web\r\nactive\r\n" in seen and b"api.v2,web\r\n" in seen
    assert seen.count(b"Ctrl-D leaves") == 1
    assert (short_dir / ".circusctl_history").read_text().splitlines()[-2:] == ["status web", "list"]
