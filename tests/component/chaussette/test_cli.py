"""The chaussette command line: Chaussette's options, our additions, and how startup fails."""

from __future__ import annotations

import json
import signal
import socket
import textwrap
from pathlib import Path

import pytest

from .harness import APPS, REPO, Client, get, open_tcp_listener, run_chaussette

ECHO = f"{APPS}:echo"


@pytest.mark.parametrize("backend", ["meinheld", "nosuchthing"])
def test_unknown_or_dead_backend_lists_the_choices(backend):
    result = run_chaussette("--backend", backend, ECHO)
    assert result.returncode == 2
    assert f"--backend {backend}" in result.stderr
    assert "gevent, waitress, wsgiref" in result.stderr


def test_missing_module_exits_4_with_traceback_and_summary():
    result = run_chaussette("--port", "0", "no_such_package.wsgi:application")
    assert result.returncode == 4
    assert "Traceback" in result.stderr and "ModuleNotFoundError" in result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    assert "cannot load the application 'no_such_package.wsgi:application'" in summary
    assert "module 'no_such_package.wsgi'" in summary
    assert "attribute 'application'" in summary
    assert "sys.path=[" in summary and str(REPO) in summary


def test_missing_attribute_names_it_and_suggests(tmp_path: Path):
    (tmp_path / "mysite.py").write_text("def application(environ, start_response):\n    return []\n")
    result = run_chaussette("--python-path", str(tmp_path), "mysite:aplication")
    assert result.returncode == 4
    summary = result.stderr.strip().splitlines()[-1]
    assert "'mysite' has no attribute 'aplication' (did you mean 'application'?)" in summary


def test_app_raising_at_import_shows_its_own_traceback(tmp_path: Path):
    (tmp_path / "broken.py").write_text("import json\nraise RuntimeError('settings missing')\n")
    result = run_chaussette("--python-path", str(tmp_path), "broken.application")
    assert result.returncode == 4
    assert 'broken.py", line 2' in result.stderr
    assert "RuntimeError: settings missing" in result.stderr.strip().splitlines()[-1]


def test_module_without_attribute_is_not_callable():
    result = run_chaussette("tests.component")
    assert result.returncode == 4
    assert "not a WSGI callable" in result.stderr


def test_bind_failure_exits_5_naming_the_address():
    taken = open_tcp_listener()
    port = taken.getsockname()[1]
    try:
        result = run_chaussette("--host", "127.0.0.1", "--port", str(port), ECHO)
    finally:
        taken.close()
    assert result.returncode == 5
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_fd_that_is_not_a_socket_exits_5(tmp_path: Path):
    with open(tmp_path / "file", "w") as handle:
        result = run_chaussette("--fd", str(handle.fileno()), ECHO, pass_fds=(handle.fileno(),))
    assert result.returncode == 5
    assert "not a socket" in result.stderr


def test_fd_that_is_not_open_exits_5():
    result = run_chaussette("--fd", "97", ECHO)
    assert result.returncode == 5
    assert "--fd 97: no such open file descriptor" in result.stderr


def test_fd_and_host_together_are_refused():
    result = run_chaussette("--fd", "3", "--host", "127.0.0.1", ECHO)
    assert result.returncode == 2
    assert "give one of them" in result.stderr


def test_use_reloader_is_refused_with_a_reason():
    result = run_chaussette("--use-reloader", ECHO)
    assert result.returncode == 2
    assert "circusctl reload" in result.stderr


def test_fd_combines_with_backlog(start_worker):
    worker = start_worker(ECHO, "--backlog", "10")
    assert get(worker.port).status == 200


def test_host_fd_url_form(start_worker):
    listener = open_tcp_listener()
    worker = start_worker(ECHO, listener=listener, listen_args=["--host", f"fd://{listener.fileno()}"])
    assert get(worker.port).status == 200
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(10) == 0


def test_host_unix_path_binds_its_own_socket(start_worker, tmp_path: Path):
    path = tmp_path / "own.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # a stale socket file from an earlier run is replaced
    stale.close()
    worker = start_worker(ECHO, listen_args=["--host", f"unix:{path}"])
    client = Client(unix_path=str(path))
    client.request()
    assert client.read_response().status == 200
    client.close()
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(10) == 0


def test_host_and_port_bind_their_own_tcp_socket(start_worker):
    probe = open_tcp_listener()
    port = probe.getsockname()[1]
    probe.close()  # a free port, most likely still free a moment later
    worker = start_worker(ECHO, listen_args=["--host", "127.0.0.1", "--port", str(port)])
    assert get(port).status == 200
    assert f"serving on 127.0.0.1:{port} with" in worker.log()


def test_hooks_are_called_with_the_options_and_python_path_is_used(start_worker, tmp_path: Path):
    marker = tmp_path / "hooks.txt"
    (tmp_path / "myhooks.py").write_text(
        textwrap.dedent(
            f"""
            def pre(args):
                with open({str(marker)!r}, "a") as f:
                    f.write("pre " + args.application + "\\n")

            def post(args):
                with open({str(marker)!r}, "a") as f:
                    f.write("post\\n")
            """
        )
    )
    worker = start_worker(
        ECHO, "--python-path", str(tmp_path), "--pre-hook", "myhooks.pre", "--post-hook", "myhooks:post"
    )
    assert marker.read_text() == f"pre {ECHO}\n"
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(10) == 0
    assert marker.read_text() == f"pre {ECHO}\npost\n"


def test_missing_hook_exits_4(tmp_path: Path):
    result = run_chaussette("--pre-hook", "nowhere.hook", ECHO)
    assert result.returncode == 4
    assert "cannot load --pre-hook 'nowhere.hook'" in result.stderr


def test_log_output_file_receives_the_logs(start_worker, tmp_path: Path):
    log_file = tmp_path / "chaussette.log"
    worker = start_worker(ECHO, "--log-output", str(log_file), "--log-level", "DEBUG")
    assert get(worker.port).status == 200
    assert "serving on 127.0.0.1:" in log_file.read_text()
    assert "[INFO]" in log_file.read_text()


def test_extra_positional_arguments_are_ignored(start_worker):
    worker = start_worker("extra-argument", ECHO)  # argv ends: ECHO extra-argument
    assert json.loads(get(worker.port).body)["pid"] == worker.pid
    assert "ignoring extra arguments ['extra-argument']" in worker.log()


def test_default_app_is_hello_world(start_worker):
    worker = start_worker("chaussette.util.hello_app")
    assert get(worker.port).body == b"hello world"


def test_paste_deploy_app(start_worker, tmp_path: Path):
    pytest.importorskip("paste.deploy")
    ini = tmp_path / "app.ini"
    ini.write_text(f"[app:main]\nuse = call:{APPS}:paste_factory\n")
    worker = start_worker(f"paste:{ini}")
    assert get(worker.port).body == b"from paste"


def test_bad_option_values_name_the_option():
    for args, fragment in [
        (["--stop-signal", "NOPE"], "--stop-signal 'NOPE'"),
        (["--trusted-proxies", "not-an-ip"], "--trusted-proxies"),
        (["--max-body-size", "lots"], "--max-body-size 'lots'"),
        (["--address-family", "AF_UNIX"], "needs --host unix:/path"),
        (["--header-timeout", "0"], "--header-timeout"),
    ]:
        result = run_chaussette(*args, ECHO)
        assert result.returncode == 2, args
        assert fragment in result.stderr, (args, result.stderr)


def test_help_lists_chaussette_and_our_options():
    result = run_chaussette("--help")
    assert result.returncode == 0
    for option in (
        "--fd",
        "--backlog",
        "--spawn",
        "--graceful-timeout",
        "--stop-signal",
        "--trusted-proxies",
    ):
        assert option in result.stdout


def test_gevent_patches_before_the_app_is_imported_unless_told_not_to(start_worker):
    patched = start_worker(f"{APPS}:patch_report")
    assert json.loads(get(patched.port).body) == {"patched_at_import": True}
    unpatched = start_worker(f"{APPS}:patch_report", "--no-monkey")
    assert json.loads(get(unpatched.port).body) == {"patched_at_import": False}
