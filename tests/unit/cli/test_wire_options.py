"""circusctl's `set`/`add` option words: checked against the config option table, typed like Circus."""

from __future__ import annotations

import pytest

from circus_web_stack.cli.argv import wire_options
from circus_web_stack.cli.grammar import UsageError


def test_numbers_and_booleans_are_sent_typed():
    texts = {
        "numprocesses": "3",
        "graceful_timeout": "2.5",
        "respawn": "off",
        "uid": "www-data",
        "cmd": "123",
    }
    assert wire_options("set", texts) == {
        "numprocesses": 3,
        "graceful_timeout": 2.5,
        "respawn": False,
        "uid": "www-data",  # names are resolved by the daemon, on its host
        "cmd": "123",  # a text option stays text
    }


def test_values_the_kind_refuses_go_as_text_for_the_daemon_to_explain():
    assert wire_options("set", {"numprocesses": "three", "respawn": "1.5"}) == {
        "numprocesses": "three",
        "respawn": "1.5",
    }


def test_family_keys_go_as_text():
    assert wire_options("set", {"hooks.before_start": "app.hook", "rlimit_nofile": "4096"}) == {
        "hooks.before_start": "app.hook",
        "rlimit_nofile": "4096",
    }


@pytest.mark.parametrize(
    ("command", "texts", "message"),
    [
        ("set", {"numprocess": "3"}, "set: unknown option 'numprocess' (did you mean 'numprocesses'?)"),
        ("set", {"use_sockets": "true"}, "'use_sockets' cannot be set on a running watcher"),
        ("add", {"bogus": "1"}, "add: unknown option 'bogus'"),
    ],
)
def test_refused_keys(command, texts, message):
    with pytest.raises(UsageError) as exc:
        wire_options(command, texts)
    assert message in str(exc.value)


def test_add_takes_options_set_refuses():
    assert wire_options("add", {"use_sockets": "yes", "priority": "2"}) == {
        "use_sockets": True,
        "priority": 2,
    }
