"""Every option of the table parses its valid forms (ini text and native API values) and refuses invalid
ones with a message naming the bad value and what is valid. Adding an option without cases here fails."""

from __future__ import annotations

import signal
from operator import attrgetter
from typing import Any

import pytest

from circus_web_stack.config.loader import parse_daemon, parse_socket, parse_watcher
from circus_web_stack.config.options import DAEMON_OPTIONS, SOCKET_OPTIONS, WATCHER_OPTIONS
from circus_web_stack.config.specs import HookSpec, StreamSpec
from circus_web_stack.core.errors import ConfigError

BOOL_VALID = [
    ("true", True),
    ("False", False),
    ("1", True),
    ("0", False),
    ("yes", True),
    ("off", False),
    (True, True),
]
BOOL_INVALID = [("maybe", "'maybe' is not a boolean (expected true or false)")]
TEXT_OPTIONAL_VALID = [("/srv/app", "/srv/app"), ("", None)]
TEXT_INVALID = [(["a"], "is not text")]

WATCHER_VALID: dict[str, list[tuple[Any, Any]]] = {
    "cmd": [("python app.py --x", "python app.py --x")],
    "args": [("--fd 3 'a b'", ("--fd", "3", "a b")), (["-x", 1], ("-x", "1")), ("", ())],
    "executable": TEXT_OPTIONAL_VALID,
    "numprocesses": [("4", 4), (" 2 ", 2), (0, 0), (3.0, 3)],
    "singleton": BOOL_VALID,
    "warmup_delay": [("0.5", 0.5), (2, 2.0), ("0", 0.0)],
    "working_dir": TEXT_OPTIONAL_VALID,
    "shell": BOOL_VALID,
    "shell_args": [("-e", "-e"), ("", None)],
    "uid": [("root", 0), ("0", 0), (0, 0), ("", None)],
    "gid": [("root", 0), ("0", 0), (0, 0), ("", None)],
    "copy_env": BOOL_VALID,
    "copy_path": BOOL_VALID,
    "virtualenv": TEXT_OPTIONAL_VALID,
    "virtualenv_py_ver": [("3.11", "3.11")],
    "env": [("A=1, B=two", {"A": "1", "B": "two"}), ({"A": 1, "b": "x"}, {"A": "1", "b": "x"})],
    "use_sockets": BOOL_VALID,
    "stdin_socket": [("web", "web"), ("", None)],
    "on_demand": BOOL_VALID,
    "priority": [("-3", -3), ("10", 10), (7, 7)],
    "autostart": BOOL_VALID,
    "respawn": BOOL_VALID,
    "send_hup": BOOL_VALID,
    "stop_signal": [
        ("TERM", signal.SIGTERM),
        ("SIGTERM", signal.SIGTERM),
        ("sigint", signal.SIGINT),
        ("9", 9),
        (10, 10),
        ("SIGRTMIN+1", signal.SIGRTMIN + 1),
        ("RTMAX-1", signal.SIGRTMAX - 1),
        ("SIGRTMIN", signal.SIGRTMIN),
    ],
    "stop_children": BOOL_VALID,
    "graceful_timeout": [("30", 30.0), ("0.5", 0.5), (0, 0.0)],
    "max_retry": [("-1", -1), ("5", 5)],
    "max_age": [("3600", 3600.0), ("0", 0.0)],
    "max_age_variance": [("0", 0.0), ("12.5", 12.5)],
    "close_child_stdin": BOOL_VALID,
    "close_child_stdout": BOOL_VALID,
    "close_child_stderr": BOOL_VALID,
    "umask": [("022", 0o22), ("0o027", 0o27), ("777", 0o777), (18, 18), ("", None)],
    "rlimits": [
        ({"nofile": 4096, "CORE": "", "nproc": "unlimited"}, {"nofile": 4096, "core": None, "nproc": None})
    ],
    "hooks": [
        ({"before_start": "pkg.mod.func"}, {"before_start": HookSpec("before_start", "pkg.mod.func", False)}),
        (
            {"after_stop": ["pkg.mod:func", False]},
            {"after_stop": HookSpec("after_stop", "pkg.mod:func", False)},
        ),
    ],
    "stdout_stream": [
        (
            {"class": "FileStream", "filename": "/tmp/x", "max_bytes": "10"},
            StreamSpec("FileStream", {"filename": "/tmp/x", "max_bytes": 10}),
        ),
        ({"class": "circus.stream.StdoutStream"}, StreamSpec("StdoutStream", {})),
        ({}, None),
    ],
    "stderr_stream": [
        ({"filename": "/tmp/e"}, StreamSpec("FileStream", {"filename": "/tmp/e"})),
        ({"class": "my.pkg.Sink", "level": "3"}, StreamSpec("my.pkg.Sink", {"level": "3"})),
    ],
    "max_surge": [("2", 2), (1, 1)],
    "startup_nice": [("0", 0), (19, 19), (" 10 ", 10)],
    "ready_timeout": [("0.5", 0.5), (60, 60.0)],
    "scale_down": [("Newest", "newest"), ("oldest", "oldest")],
    "readiness": [("auto", "auto"), ("NOTIFY", "notify"), ("alive", "alive")],
    "flapping.attempts": [("3", 3), (1, 1)],
    "flapping.window": [("2.5", 2.5), (10, 10.0)],
    "flapping.retry_in": [("0", 0.0), ("0.3", 0.3)],
    "flapping.max_retry": [("-1", -1), ("0", 0), (7, 7)],
    "min_ready": [("0", 0), (3, 3)],
}

WATCHER_INVALID: dict[str, list[tuple[Any, str]]] = {
    "cmd": [("", "an empty value is not allowed (expected non-empty text)"), *TEXT_INVALID],
    "args": [
        ("'unclosed", "cannot be split into arguments: No closing quotation"),
        ({"a": 1}, "is not arguments"),
    ],
    "executable": TEXT_INVALID,
    "numprocesses": [
        ("four", "'four' is not a whole number (expected an integer >= 0)"),
        ("-1", "'-1' is out of range (expected an integer >= 0)"),
        (True, "'True' is not a whole number"),
        ("1.5", "'1.5' is not a whole number"),
    ],
    "singleton": BOOL_INVALID,
    "warmup_delay": [
        ("soon", "'soon' is not a number of seconds (expected seconds >= 0)"),
        ("-1", "'-1' is out of range (expected seconds >= 0)"),
    ],
    "working_dir": TEXT_INVALID,
    "shell": BOOL_INVALID,
    "shell_args": TEXT_INVALID,
    "uid": [("nosuchuser-xyz", "'nosuchuser-xyz' is not a user on this system"), (-1, "is not a user")],
    "gid": [("nosuchgroup-xyz", "'nosuchgroup-xyz' is not a group on this system")],
    "copy_env": BOOL_INVALID,
    "copy_path": BOOL_INVALID,
    "virtualenv": TEXT_INVALID,
    "virtualenv_py_ver": TEXT_INVALID,
    "env": [("A", "'A' is not NAME=VALUE"), ({"A": None}, "the value of A must be text")],
    "use_sockets": BOOL_INVALID,
    "stdin_socket": TEXT_INVALID,
    "on_demand": BOOL_INVALID,
    "priority": [("high", "'high' is not a whole number (expected an integer)")],
    "autostart": BOOL_INVALID,
    "respawn": BOOL_INVALID,
    "send_hup": BOOL_INVALID,
    "stop_signal": [
        ("SIGFOO", "'SIGFOO' is not a known signal"),
        ("0", "'0' is not a signal number"),
        ("SIGRTMIN+99", "outside the real-time signals"),
    ],
    "stop_children": BOOL_INVALID,
    "graceful_timeout": [("-5", "'-5' is out of range (expected seconds >= 0)"), ("nan", "finite")],
    "max_retry": [("-2", "'-2' is out of range (expected an integer >= -1 (-1: forever))")],
    "max_age": [("forever", "'forever' is not a number of seconds")],
    "max_age_variance": [("-0.1", "is out of range")],
    "close_child_stdin": BOOL_INVALID,
    "close_child_stdout": BOOL_INVALID,
    "close_child_stderr": BOOL_INVALID,
    "umask": [("099", "'099' is not an octal number"), ("1000", "'1000' is out of range")],
    "rlimits": [
        ({"nofiles": 1}, "unknown resource limit 'nofiles' (did you mean 'nofile'?)"),
        ({"nofile": "lots"}, "'lots' is not a whole number"),
    ],
    "hooks": [
        ({"before_strat": "a.b"}, "unknown hook 'before_strat' (did you mean 'before_start'?)"),
        ({"before_start": "nodots"}, "'nodots' is not a dotted path to a callable"),
        ({"before_start": "a.b, perhaps"}, "ignore_failure: 'perhaps' is not a boolean"),
    ],
    "stdout_stream": [
        (
            {"class": "FileStrem", "filename": "x"},
            "unknown stream class 'FileStrem' (did you mean 'FileStream'?)",
        ),
        ({"class": "FileStream"}, "FileStream needs a filename"),
        ({"class": "FileStream", "filename": "x", "max_byte": "1"}, "FileStream has no option 'max_byte'"),
    ],
    "stderr_stream": [({"max_bytes": "1"}, "a stream needs 'class' (or 'filename' for a FileStream)")],
    "max_surge": [("0", "'0' is out of range (expected an integer >= 1)")],
    "startup_nice": [
        ("20", "'20' is out of range (expected an integer from 0 to 19)"),
        ("-5", "'-5' is out of range (expected an integer from 0 to 19)"),
        ("high", "'high' is not a whole number (expected an integer from 0 to 19)"),
    ],
    "ready_timeout": [("0", "'0' is out of range (expected seconds > 0)")],
    "scale_down": [("random", "'random' is not a valid choice (expected one of oldest, newest)")],
    "readiness": [("ready", "'ready' is not a valid choice (expected one of auto, notify, alive)")],
    "flapping.attempts": [("0", "'0' is out of range (expected an integer >= 1)")],
    "flapping.window": [("0", "'0' is out of range (expected seconds > 0)"), ("soon", "is not a number")],
    "flapping.retry_in": [("-1", "'-1' is out of range (expected seconds >= 0)")],
    "flapping.max_retry": [("-2", "'-2' is out of range (expected an integer >= -1 (-1: forever))")],
    "min_ready": [("-1", "'-1' is out of range (expected an integer >= 0)")],
}

# options that other options must accompany to be valid
WATCHER_CONTEXT = {"copy_path": {"copy_env": True}, "virtualenv": {"copy_env": True}}


def _stored(table):
    return {name for name, option in table.items() if option.stored}


def test_every_watcher_option_has_valid_and_invalid_cases():
    assert _stored(WATCHER_OPTIONS) == set(WATCHER_VALID) == set(WATCHER_INVALID)


def _cases(cases):
    return [
        pytest.param(name, raw, expected, id=f"{name}={raw!r}")
        for name in cases
        for raw, expected in cases[name]
    ]


@pytest.mark.parametrize(("name", "raw", "expected"), _cases(WATCHER_VALID))
def test_watcher_option_accepts(name, raw, expected):
    options = {"cmd": "prog", **WATCHER_CONTEXT.get(name, {}), name: raw}
    cfg = parse_watcher("w", options)
    assert attrgetter(name)(cfg) == expected  # an option's name is its attribute path


@pytest.mark.parametrize(("name", "raw", "message"), _cases(WATCHER_INVALID))
def test_watcher_option_refuses(name, raw, message):
    options = {"cmd": "prog", **WATCHER_CONTEXT.get(name, {}), name: raw}
    with pytest.raises(ConfigError) as caught:
        parse_watcher("w", options)
    assert caught.value.section == "watcher:w"
    assert caught.value.option is not None and caught.value.option.startswith(name.removesuffix("s"))
    assert message in caught.value.message


DAEMON_VALID: dict[str, list[tuple[Any, Any]]] = {
    "endpoint": [
        ("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555"),
        ("ipc:///run/c.sock", "ipc:///run/c.sock"),
        ("", None),
    ],
    "endpoint_owner": [("root", "root"), ("0", "0"), ("", None)],
    "pubsub_endpoint": [
        ("tcp://localhost:5556", "tcp://localhost:5556"),
        ("tcp://[::1]:5556", "tcp://[::1]:5556"),
    ],
    "multicast_endpoint": [
        ("udp://237.219.251.97:12027", "udp://237.219.251.97:12027"),
        ("udp://[ff02::1:c1c5]:12027", "udp://[ff02::1:c1c5]:12027"),
        ("", ""),
    ],
    "statsd": BOOL_VALID,
    "stats_endpoint": [("ipc:///run/s.sock", "ipc:///run/s.sock")],
    "stats_interval": [("1", 1.0), ("0.5", 0.5)],
    "check_delay": [("1", 1.0), ("0.25", 0.25)],
    "warmup_delay": [("0.5", 0.5), ("3", 3.0)],
    "umask": [("022", 0o22), ("", None)],
    "httpd": BOOL_VALID,
    "httpd_host": [("0.0.0.0", "0.0.0.0")],
    "httpd_port": [("8081", 8081), ("0", 0)],
    "httpd_password_hash": TEXT_OPTIONAL_VALID,
    "httpd_readonly_password_hash": TEXT_OPTIONAL_VALID,
    "debug": BOOL_VALID,
    "debug_gc": BOOL_VALID,
    "pidfile": TEXT_OPTIONAL_VALID,
    "loglevel": [("DEBUG", "debug"), ("warning", "warning")],
    "logoutput": [
        ("/var/log/circus.log", "/var/log/circus.log"),
        ("syslog:///dev/log?daemon", "syslog:///dev/log?daemon"),
    ],
    "loggerconfig": [("default", "default"), ("", None)],
    "insecure": BOOL_VALID,
    "curve_secret_key_file": [(__file__, __file__), ("", None)],
    "curve_public_key_file": [(__file__, __file__), ("", None)],
    "fqdn_prefix": TEXT_OPTIONAL_VALID,
    "curve_client_keys_dir": [("/", "/"), ("", None)],
    "subreaper": BOOL_VALID,
    "exit_on_failure": [("web worker", ("web", "worker")), (["*"], ("*",)), ("", ())],
    "health_endpoint": [
        ("9001", "127.0.0.1:9001"),
        (9001, "127.0.0.1:9001"),
        ("0.0.0.0:9001", "0.0.0.0:9001"),
        ("[::1]:0", "[::1]:0"),
        ("", None),
    ],
    "health_timeout": [("0.5", 0.5), (3, 3.0)],
    "metrics_endpoint": [("9101", "127.0.0.1:9101"), ("[::1]:0", "[::1]:0"), ("", None)],
    "overlay": [("AUTO", "auto"), ("manual", "manual"), ("off", "off")],
}

DAEMON_INVALID: dict[str, list[tuple[Any, str]]] = {
    "endpoint": [
        (
            "127.0.0.1:5555",
            "'127.0.0.1:5555' is not a ZeroMQ endpoint (expected tcp://HOST:PORT or ipc:///path)",
        ),
        ("tcp://127.0.0.1:99999", "has a port above 65535"),
        ("ipc://", "has no socket path"),
    ],
    "endpoint_owner": [("nosuchuser-xyz", "'nosuchuser-xyz' is not a user on this system")],
    "pubsub_endpoint": [("udp://127.0.0.1:1", "is not a ZeroMQ endpoint")],
    "multicast_endpoint": [
        (
            "237.219.251.97:12027",
            "is not a multicast endpoint (expected udp://GROUP:PORT or udp://[GROUP]:PORT",
        ),
    ],
    "statsd": BOOL_INVALID,
    "stats_endpoint": [("tcp://127.0.0.1", "is not a ZeroMQ endpoint")],
    "stats_interval": [("0", "'0' is out of range (expected seconds > 0)")],
    "check_delay": [("0", "'0' is out of range (expected seconds > 0)")],
    "warmup_delay": [("-1", "is out of range")],
    "umask": [("8", "'8' is not an octal number")],
    "httpd": BOOL_INVALID,
    "httpd_host": [("", "an empty value is not allowed")],
    "httpd_port": [("65536", "'65536' is out of range (expected an integer from 0 to 65535)")],
    "httpd_password_hash": TEXT_INVALID,
    "httpd_readonly_password_hash": TEXT_INVALID,
    "debug": BOOL_INVALID,
    "debug_gc": BOOL_INVALID,
    "pidfile": TEXT_INVALID,
    "loglevel": [
        ("verbose", "'verbose' is not a valid choice (expected one of critical, error, warning, info, debug)")
    ],
    "logoutput": [("", "an empty value is not allowed")],
    "loggerconfig": TEXT_INVALID,
    "insecure": BOOL_INVALID,
    "curve_secret_key_file": [("/nonexistent/server.key_secret", "no such file"), ("/", "is a directory")],
    "curve_public_key_file": TEXT_INVALID,
    "fqdn_prefix": TEXT_INVALID,
    "curve_client_keys_dir": [("/nonexistent/keys", "no such directory"), (__file__, "not a directory")],
    "subreaper": BOOL_INVALID,
    "exit_on_failure": [(7, "is not a list of words")],
    "health_endpoint": [
        ("localhost:http", "'localhost:http' is not an address (expected HOST:PORT or PORT (empty: off))"),
        (":9001", "is not an address"),
        ("127.0.0.1:70000", "is not an address"),
    ],
    "health_timeout": [("0", "'0' is out of range (expected seconds > 0)")],
    "metrics_endpoint": [
        ("localhost:metrics", "is not an address (expected HOST:PORT or PORT (empty: off))")
    ],
    "overlay": [("sometimes", "'sometimes' is not a valid choice (expected one of off, manual, auto)")],
}


def test_every_daemon_option_has_valid_and_invalid_cases():
    assert _stored(DAEMON_OPTIONS) == set(DAEMON_VALID) == set(DAEMON_INVALID)


@pytest.mark.parametrize(("name", "raw", "expected"), _cases(DAEMON_VALID))
def test_daemon_option_accepts(name, raw, expected):
    assert getattr(parse_daemon({name: raw}), name) == expected


@pytest.mark.parametrize(("name", "raw", "message"), _cases(DAEMON_INVALID))
def test_daemon_option_refuses(name, raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_daemon({name: raw})
    assert (caught.value.section, caught.value.option) == ("circus", name)
    assert message in caught.value.message


SOCKET_VALID: dict[str, list[tuple[Any, Any]]] = {
    "host": [("127.0.0.1", "127.0.0.1"), ("::1", "::1")],
    "port": [("8000", 8000), ("0", 0), (65535, 65535)],
    "family": [("AF_INET6", "AF_INET6"), ("inet", "AF_INET")],
    "type": [("SOCK_DGRAM", "SOCK_DGRAM"), ("seqpacket", "SOCK_SEQPACKET")],
    "proto": [("tcp", "tcp"), ("6", 6), ("", None)],
    "backlog": [("128", 128)],
    "path": [("", None)],
    "umask": [("022", 0o22), ("0", 0)],
    "replace": BOOL_VALID,
    "interface": [("eth0", "eth0"), ("", None)],
    "so_reuseport": BOOL_VALID,
    "blocking": BOOL_VALID,
    "close_when_idle": BOOL_VALID,
}

SOCKET_INVALID: dict[str, list[tuple[Any, str]]] = {
    "host": [("", "an empty value is not allowed")],
    "port": [
        ("http", "'http' is not a whole number (expected an integer from 0 to 65535)"),
        ("70000", "out of range"),
    ],
    "family": [
        ("AF_BLUETOOTH", "'AF_BLUETOOTH' is not a valid choice (expected one of AF_INET, AF_INET6, AF_UNIX)")
    ],
    "type": [("SOCK_PACKET", "is not a valid choice")],
    "proto": [("t c p", "is not a protocol")],
    "backlog": [("0", "'0' is out of range (expected an integer >= 1)")],
    "path": TEXT_INVALID,
    "umask": [("9", "'9' is not an octal number"), ("", "is not an octal number")],
    "replace": BOOL_INVALID,
    "interface": [
        ("a-very-long-interface-name", "is not a valid interface name"),
        ("eth 0", "not a valid interface"),
    ],
    "so_reuseport": BOOL_INVALID,
    "blocking": BOOL_INVALID,
    "close_when_idle": BOOL_INVALID,
}


def test_every_socket_option_has_valid_and_invalid_cases():
    assert _stored(SOCKET_OPTIONS) == set(SOCKET_VALID) == set(SOCKET_INVALID)


@pytest.mark.parametrize(("name", "raw", "expected"), _cases(SOCKET_VALID))
def test_socket_option_accepts(name, raw, expected):
    assert getattr(parse_socket("web", {name: raw}), name) == expected


@pytest.mark.parametrize(("name", "raw", "message"), _cases(SOCKET_INVALID))
def test_socket_option_refuses(name, raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_socket("web", {name: raw})
    assert (caught.value.section, caught.value.option) == ("socket:web", name)
    assert message in caught.value.message
