"""The wire table of commands: completeness, validation messages, match semantics."""

from __future__ import annotations

import signal

import pytest

from circus_web_stack.core.errors import ClientError, Errno
from circus_web_stack.protocol.commands import COMMAND_TABLE, COMMANDS, get_command, validate
from circus_web_stack.protocol.properties import match_names

CIRCUS_COMMANDS = {
    "add", "rm", "start", "stop", "restart", "reload", "reloadconfig", "incr", "decr", "numprocesses",
    "numwatchers", "list", "listsockets", "status", "stats", "dstats", "options", "get", "set", "signal",
    "kill", "globaloptions", "quit", "listen",
}  # fmt: skip


def test_table_has_every_circus_command_once():
    names = [c.name for c in COMMAND_TABLE]
    assert len(names) == len(set(names))
    assert {c.name for c in COMMAND_TABLE if c.in_circus} == CIRCUS_COMMANDS
    assert {c.name for c in COMMAND_TABLE if not c.in_circus} == {"processes", "saveoverlay"}


@pytest.mark.parametrize("spec", COMMAND_TABLE, ids=lambda s: s.name)
def test_rows_are_consistent(spec):
    props = spec.props_by_name
    assert spec.summary and spec.doc
    assert ("waiting" in props) == spec.takes_waiting
    assert ("match" in props) == spec.takes_match


def test_waiting_and_match_are_where_circus_has_them():
    waiting = {c.name for c in COMMAND_TABLE if c.takes_waiting}
    assert {
        "rm",
        "start",
        "stop",
        "restart",
        "reload",
        "reloadconfig",
        "incr",
        "decr",
        "set",
        "kill",
        "quit",
    } <= waiting
    assert {c.name for c in COMMAND_TABLE if c.takes_match} == {"start", "stop", "restart", "reload"}
    assert [c.name for c in COMMAND_TABLE if c.overrides_status] == ["status"]
    assert [c.name for c in COMMAND_TABLE if c.client_only] == ["listen"]


def test_unknown_command_uses_circus_message_and_errno():
    with pytest.raises(ClientError) as exc:
        get_command("nosuch")
    assert (exc.value.reason, exc.value.errno) == ("unknown command: 'nosuch'", Errno.UNKNOWN_COMMAND)
    assert get_command("STATUS") is COMMANDS["status"]


def test_validate_fills_defaults_in_table_order():
    assert validate("reload", {"name": "web"}) == {
        "name": "web",
        "graceful": True,
        "sequential": False,
        "waiting": False,
        "match": "glob",
    }
    assert validate("reload", {"name": "web"}, fill_defaults=False) == {"name": "web"}


def test_missing_required_property_uses_circus_message():
    with pytest.raises(ClientError) as exc:
        validate("get", {"name": "web"})
    assert (exc.value.reason, exc.value.errno) == ("message invalid 'keys' is missing", Errno.MESSAGE_ERROR)


def test_null_counts_as_absent():
    assert validate("kill", {"name": "web", "signum": None, "graceful_timeout": None}) == {
        "name": "web",
        "waiting": False,
    }
    with pytest.raises(ClientError, match="'name' is missing"):
        validate("kill", {"name": None})


def test_unknown_property_names_the_valid_ones():
    with pytest.raises(ClientError) as exc:
        validate("incr", {"name": "web", "nbb": 1})
    assert "unknown property 'nbb' for incr (did you mean 'nb'?)" in exc.value.reason
    assert "valid properties: name, nb, waiting" in exc.value.reason


@pytest.mark.parametrize(
    ("command", "props", "message"),
    [
        ("incr", {"name": "web", "nb": "two"}, "'nb' of incr must be an integer, got string 'two'"),
        ("incr", {"name": "web", "nb": True}, "'nb' of incr must be an integer, got boolean True"),
        ("incr", {"name": 3}, "'name' of incr must be a string, got number 3"),
        ("rm", {"name": "web", "nostop": "maybe"}, "'nostop' of rm must be a boolean"),
        ("get", {"name": "web", "keys": [1]}, "'keys' of get must be a list of strings"),
        ("kill", {"name": "web", "graceful_timeout": "inf"}, "'graceful_timeout' of kill must be a number"),
        ("start", {"name": "web", "match": "fuzzy"}, "'match' of start must be one of simple, glob, regex"),
        (
            "add",
            {"name": "w", "cmd": "x", "args": {"a": 1}},
            "'args' of add must be a string or list of strings",
        ),
    ],
)
def test_mistyped_property_names_property_and_type(command, props, message):
    with pytest.raises(ClientError) as exc:
        validate(command, props)
    assert message in exc.value.reason
    assert exc.value.errno == Errno.MESSAGE_ERROR


def test_lenient_conversions_from_strings():
    assert validate("incr", {"name": "web", "nb": "2"})["nb"] == 2
    assert validate("stats", {"name": "web", "process": "1234"})["process"] == 1234
    assert validate("rm", {"name": "web", "nostop": "true"})["nostop"] is True
    assert validate("kill", {"name": "web", "graceful_timeout": 3})["graceful_timeout"] == 3.0
    assert validate("get", {"name": "web", "keys": "numprocesses"})["keys"] == ["numprocesses"]
    assert validate("start", {"name": "web", "match": "REGEX"})["match"] == "regex"


@pytest.mark.parametrize(
    ("given", "number"),
    [
        ("USR1", signal.SIGUSR1),
        ("SIGUSR1", signal.SIGUSR1),
        ("usr1", signal.SIGUSR1),
        (15, signal.SIGTERM),
        ("15", signal.SIGTERM),
        ("SIGRTMIN+1", signal.SIGRTMIN + 1),
        ("RTMAX-2", signal.SIGRTMAX - 2),
        ("SIGRTMIN", signal.SIGRTMIN),
        ("IOT", signal.SIGABRT),
    ],
)
def test_signals_are_normalized_to_numbers(given, number):
    assert validate("signal", {"name": "web", "signum": given})["signum"] == int(number)
    assert validate("kill", {"name": "web", "signum": given})["signum"] == int(number)


@pytest.mark.parametrize("given", ["FOO", 0, -1, 999, True, "SIGRTMIN+99", 1.5])
def test_invalid_signals_are_refused(given):
    with pytest.raises(ClientError, match="signal invalid"):
        validate("signal", {"name": "web", "signum": given})


@pytest.mark.parametrize(
    ("command", "props", "message"),
    [
        ("signal", {"name": "web", "signum": 1, "childpid": 4}, "cannot specify childpid without pid"),
        ("stats", {"process": 4}, "'process' needs 'name'"),
        ("incr", {"name": "web", "nb": 0}, "'nb' must be at least 1"),
        ("kill", {"name": "web", "graceful_timeout": -1}, "'graceful_timeout' must be 0 or more"),
        ("get", {"name": "web", "keys": []}, "'keys' is empty"),
        ("set", {"name": "web", "options": {}}, "'options' is empty"),
    ],
)
def test_cross_property_checks(command, props, message):
    with pytest.raises(ClientError, match=message):
        validate(command, props)


def test_options_of_set_and_add_are_objects_passed_through():
    # Keys and values are the config option table's to judge (in the daemon and in circusctl).
    options = {"numprocesses": 3, "use_sockets": "true", "hooks.before_start": "a.b"}
    assert validate("set", {"name": "web", "options": options})["options"] == options
    assert validate("add", {"name": "w", "cmd": "x", "options": options})["options"] == options
    with pytest.raises(ClientError, match="'options' of set must be an object of watcher options, got array"):
        validate("set", {"name": "web", "options": ["numprocesses", 3]})


def test_listen_is_refused_by_the_daemon():
    with pytest.raises(ClientError, match="listen is a circusctl command") as exc:
        validate("listen", {})
    assert exc.value.errno == Errno.MESSAGE_ERROR


NAMES = ["web", "Web-Admin", "worker.1", "worker.2", "plugin:flapping"]


@pytest.mark.parametrize(
    ("pattern", "mode", "expected"),
    [
        ("web", "simple", ["web"]),
        ("WEB", "simple", ["web"]),
        ("web*", "simple", []),
        ("web*", "glob", ["web", "Web-Admin"]),
        ("worker.?", "glob", ["worker.1", "worker.2"]),
        ("plugin:*", "glob", ["plugin:flapping"]),
        ("web", "glob", ["web"]),
        ("worker\\.\\d", "regex", ["worker.1", "worker.2"]),
        ("web", "regex", ["web"]),
        ("w.*", "REGEX", ["web", "Web-Admin", "worker.1", "worker.2"]),
    ],
)
def test_match_names(pattern, mode, expected):
    assert match_names(pattern, NAMES, mode) == expected


def test_match_names_refuses_bad_regex_and_mode():
    with pytest.raises(ClientError, match="invalid regex"):
        match_names("(", NAMES, "regex")
    with pytest.raises(ClientError, match="match must be one of"):
        match_names("web", NAMES, "fuzzy")
