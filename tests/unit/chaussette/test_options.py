"""Command-line parsing into Options: Chaussette's forms and ours, and the errors for bad values."""

from __future__ import annotations

import signal
import socket

import pytest

from chaussette_compat.cli import build_parser, options_from_args
from chaussette_compat.options import ListenSpec, parse_host, parse_python_path, parse_signal, parse_size


def options(*argv: str):
    return options_from_args(build_parser().parse_args(list(argv)))


def test_defaults_match_chaussette_where_it_had_them():
    opts = options()
    assert opts.app == "chaussette.util.hello_app"
    assert opts.listen == ListenSpec(host="localhost", port=8080, family=socket.AF_INET, backlog=None)
    assert opts.backend == "gevent" and opts.monkey_patch
    assert opts.stop_signal == signal.SIGTERM
    assert opts.quick_stop_signals == (signal.SIGINT, signal.SIGQUIT)
    assert opts.log_level == "info" and opts.log_output == "-"
    assert not opts.access_log


def test_fd_with_backlog_is_allowed():
    opts = options("--fd", "3", "--backlog", "10", "app:application")
    assert opts.listen == ListenSpec(fd=3, backlog=10)
    assert opts.listen.describe() == "fd://3"


def test_host_forms():
    assert parse_host("fd://7", 8080, "AF_INET", None, None).fd == 7
    unix = parse_host("unix:/run/app.sock", 8080, "AF_INET", None, None)
    assert unix.unix_path == "/run/app.sock" and unix.family == socket.AF_UNIX
    assert unix.describe() == "unix:/run/app.sock"
    v6 = parse_host("::1", 9000, "AF_INET6", None, 5)
    assert (v6.host, v6.port, v6.family, v6.backlog) == ("::1", 9000, socket.AF_INET6, 5)
    assert v6.describe() == "[::1]:9000"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fd://x", 1, "AF_INET", None, None), "fd://N"),
        (("unix:", 1, "AF_INET", None, None), "unix:/path"),
        (("localhost", 1, "AF_UNIX", None, None), "needs --host unix:/path"),
        (("localhost", 70000, "AF_INET", None, None), "--port 70000"),
        (("localhost", 1, "AF_INET", -1, None), "--fd -1"),
        (("localhost", 1, "AF_INET", None, 0), "--backlog 0"),
        (("localhost", 1, "AF_BOGUS", None, None), "--address-family"),
    ],
)
def test_bad_listen_values(args, message):
    with pytest.raises(ValueError, match=message):
        parse_host(*args)


def test_signals_by_name_or_number():
    assert parse_signal("TERM") == parse_signal("sigterm") == parse_signal("15") == signal.SIGTERM
    assert parse_signal("USR1") == signal.SIGUSR1
    for bad in ("NOPE", "999"):
        with pytest.raises(ValueError, match=r"--stop-signal"):
            parse_signal(bad)


def test_stop_signal_int_leaves_only_quit_quick():
    assert options("--stop-signal", "INT").quick_stop_signals == (signal.SIGQUIT,)


def test_sizes():
    assert parse_size("1024", "--x") == 1024
    assert parse_size("512k", "--x") == 512 * 1024
    assert parse_size("10M", "--x") == 10 * 1024**2
    assert parse_size("1GB", "--x") == 1024**3
    with pytest.raises(ValueError, match=r"--x '1.5M'"):
        parse_size("1.5M", "--x")


def test_python_path():
    assert parse_python_path("/a:/b::/c", ":") == ("/a", "/b", "/c")
    assert parse_python_path(None, ":") == ()


def test_our_options():
    opts = options(
        "--trusted-proxies",
        "10.0.0.0/8",
        "--max-body-size",
        "2M",
        "--header-timeout",
        "1.5",
        "--keepalive-timeout",
        "2",
        "--io-timeout",
        "3",
        "--access-log",
        "--limit-request-line",
        "100",
        "--limit-request-fields",
        "5",
        "--limit-request-field-size",
        "50",
        "--spawn",
        "7",
        "--graceful-timeout",
        "4",
        "--log-level",
        "DEBUG",
        "--no-monkey",
        "--python-path",
        "/x",
    )
    assert opts.trusted_proxies.trusts("10.9.8.7") and not opts.trusted_proxies.trusts("127.0.0.1")
    assert (opts.limits.max_body_size, opts.limits.max_request_line) == (2 * 1024**2, 100)
    assert (opts.limits.max_header_fields, opts.limits.max_header_field_size) == (5, 50)
    assert (opts.header_timeout_s, opts.keepalive_timeout_s, opts.io_timeout_s) == (1.5, 2.0, 3.0)
    assert opts.access_log and opts.spawn == 7 and opts.graceful_timeout_s == 4.0
    assert opts.log_level == "debug" and not opts.monkey_patch and opts.python_path == ("/x",)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--use-reloader"], "--use-reloader is not supported"),
        (["--fd", "3", "--host", "x"], "give one of them"),
        (["--trusted-proxies", "nope"], "--trusted-proxies"),
    ],
)
def test_refused_combinations(argv, message):
    with pytest.raises(ValueError, match=message):
        options(*argv)


def test_argparse_rejects_non_positive_timeouts(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--keepalive-timeout", "0"])
    assert "expected more than 0 seconds" in capsys.readouterr().err
