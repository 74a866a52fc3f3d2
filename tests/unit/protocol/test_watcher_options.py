"""The add/set option whitelist and circusctl's string conversions."""

from __future__ import annotations

import signal

import pytest

from circus_web_stack.core.errors import ClientError
from circus_web_stack.protocol.watcher_options import (
    OPTIONS_BY_NAME,
    OptionType,
    option_from_text,
    option_type,
    validate_options,
)

CIRCUS_KEYS = {
    "numprocesses", "warmup_delay", "working_dir", "uid", "gid", "send_hup", "stop_signal", "stop_children",
    "shell", "env", "cmd", "args", "copy_env", "retry_in", "max_retry", "graceful_timeout", "stdout_stream",
    "stderr_stream", "max_age", "max_age_variance", "respawn", "singleton", "hooks", "close_child_stdin",
    "close_child_stdout", "close_child_stderr",
}  # fmt: skip


def test_circus_whitelist_is_settable_and_additions_are_add_only():
    assert {o.name for o in OPTIONS_BY_NAME.values() if o.circus} == CIRCUS_KEYS
    assert all(o.settable for o in OPTIONS_BY_NAME.values() if o.circus)
    additions = {o.name for o in OPTIONS_BY_NAME.values() if not o.circus}
    assert {"use_sockets", "priority", "autostart"} <= additions
    assert not any(OPTIONS_BY_NAME[name].settable for name in additions)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("stdout_stream.filename", OptionType.STR),
        ("stderr_stream.max_bytes", OptionType.INT),
        ("hooks.after_spawn", OptionType.STR),
        ("rlimit_nofile", OptionType.RLIMIT),
    ],
)
def test_key_families(key, kind):
    assert option_type(key) is kind


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("hooks.nope", "unknown hook 'nope'"),
        ("rlimit_", "unknown key"),
        ("graceful_timout", "did you mean 'graceful_timeout'"),
    ],
)
def test_unknown_keys(key, message):
    with pytest.raises(ClientError, match=message):
        option_type(key)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"numprocesses": 1.5}, "'numprocesses' isn't an integer"),
        ({"graceful_timeout": "x"}, "'graceful_timeout' isn't a number"),
        ({"shell": "perhaps"}, "'shell' isn't a valid boolean"),
        ({"uid": [1]}, "'uid' isn't an integer or string"),
        ({"env": {"A": 1}}, "'A' isn't a string"),
        ({"env": "A=1"}, "'env' isn't a valid object"),
        ({"stdout_stream": {"filename": "x"}}, "must be an object with a 'class' key"),
        ({"hooks": {"nope": "x.y"}}, "unknown hook 'nope'"),
        ({"hooks": {"before_start": 1}}, "must be a dotted name string"),
        ({"args": [1]}, "isn't a string or a list of strings"),
        ({"rlimit_nofile": "lots"}, "isn't an integer or empty string"),
        ({"stop_signal": "NOPE"}, "signal invalid"),
        ({"cmd": 1}, "'cmd' isn't a string"),
    ],
)
def test_validate_options_messages(options, message):
    with pytest.raises(ClientError, match=message):
        validate_options(options, for_command="add")


def test_validate_options_normalizes():
    result = validate_options(
        {"stop_signal": "QUIT", "respawn": "false", "rlimit_core": ""}, for_command="set"
    )
    assert result == {"stop_signal": int(signal.SIGQUIT), "respawn": False, "rlimit_core": ""}
    with pytest.raises(ClientError, match="must be an object"):
        validate_options([], for_command="set")


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("numprocesses", "3", 3),
        ("graceful_timeout", "2.5", 2.5),
        ("respawn", "off", False),
        ("uid", "1000", 1000),
        ("uid", "www-data", "www-data"),
        ("env", "A=1, B = x=y", {"A": "1", "B": " x=y"}),
        ("hooks", "before_start:a.b,after_spawn:c.d", {"before_start": "a.b", "after_spawn": "c.d"}),
        ("args", "--fd 3 'a b'", ["--fd", "3", "a b"]),
        ("rlimit_nofile", "", ""),
        ("stop_signal", "USR2", "USR2"),
        ("stdout_stream.max_bytes", "10", 10),
    ],
)
def test_option_from_text(key, text, value):
    assert option_from_text(key, text) == value


@pytest.mark.parametrize(
    ("key", "text"), [("numprocesses", "x"), ("env", "nokey"), ("hooks", "bad"), ("stdout_stream", "x")]
)
def test_option_from_text_refuses(key, text):
    with pytest.raises(ClientError, match=key):
        option_from_text(key, text)
