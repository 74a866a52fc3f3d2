"""Watchers from the Python API and the `add` command (parse_watcher), the `set` command
(set_watcher_option), and the table's settable / needs_reload answers."""

from __future__ import annotations

import signal

import pytest

from circus_web_stack.config.loader import parse_watcher, set_watcher_option
from circus_web_stack.config.model import FlappingSpec
from circus_web_stack.config.options import is_settable, needs_reload
from circus_web_stack.config.specs import HookSpec, StreamSpec
from circus_web_stack.core.errors import ConfigError


def test_native_values_from_get_arbiter():
    cfg = parse_watcher(
        "web",
        {
            "name": "web",
            "cmd": "python -m app",
            "args": ["--port", 8000],
            "numprocesses": 4,
            "warmup_delay": 0.5,
            "shell": False,
            "stop_signal": signal.SIGINT,
            "graceful_timeout": 10,
            "env": {"DEBUG": "1", "WORKERS": 4},
            "rlimits": {"nofile": 1024},
            "hooks": {"before_start": ("pkg.hooks.check", True)},
            "stdout_stream": {"class": "StdoutStream"},
            "Priority": 2,
        },
    )
    assert cfg.args == ("--port", "8000")
    assert (cfg.numprocesses, cfg.warmup_delay, cfg.stop_signal, cfg.graceful_timeout) == (4, 0.5, 2, 10.0)
    assert dict(cfg.env) == {"DEBUG": "1", "WORKERS": "4"}
    assert dict(cfg.rlimits) == {"nofile": 1024}
    assert cfg.hooks["before_start"] == HookSpec("before_start", "pkg.hooks.check", True)
    assert cfg.stdout_stream == StreamSpec("StdoutStream", {})
    assert cfg.priority == 2


def test_errors_name_the_source_and_watcher():
    with pytest.raises(ConfigError) as caught:
        parse_watcher("web", {"cmd": "x", "numprocesses": "four"})
    assert (
        str(caught.value)
        == "<api> [watcher:web] numprocesses: 'four' is not a whole number (expected an integer >= 0)"
    )
    with pytest.raises(ConfigError) as caught:
        parse_watcher("web", {"cmd": "x", "numprocess": 4}, source="add")
    assert str(caught.value) == "add [watcher:web] numprocess: unknown option (did you mean 'numprocesses'?)"
    with pytest.raises(ConfigError, match="name: differs from the watcher's name"):
        parse_watcher("web", {"cmd": "x", "name": "other"})
    with pytest.raises(ConfigError, match="cmd: required option missing"):
        parse_watcher("web", {})
    with pytest.raises(ConfigError, match="is not a watcher name"):
        parse_watcher("", {"cmd": "x"})


def test_free_form_keys_are_kept_with_a_warning():
    warnings: list[str] = []
    assert parse_watcher("w", {"cmd": "x", "team": 7}, warnings=warnings).extra == {"team": "7"}
    assert warnings == [
        "<api> [watcher:w] team: not an option of circus-web-stack; "
        "kept as a free-form value for `options`/`get`"
    ]


def test_env_text_expands_from_global_env_but_a_mapping_is_literal():
    assert parse_watcher("w", {"cmd": "x", "env": "A=$HOME,B=2"}, global_env={"HOME": "/h"}).env == {
        "A": "/h",
        "B": "2",
    }
    assert parse_watcher("w", {"cmd": "x", "env": {"A": "$HOME"}}, global_env={"HOME": "/h"}).env == {
        "A": "$HOME"
    }


def test_socket_references_checked_when_sockets_are_given():
    options = {"cmd": "run --fd $(circus.sockets.web)", "use_sockets": True}
    assert parse_watcher("w", options).cmd == options["cmd"]  # the runtime has no sockets list here
    assert parse_watcher("w", options, sockets=["web"]).referenced_sockets() == {"web"}
    with pytest.raises(ConfigError, match="cmd: uses socket 'web', which is not defined"):
        parse_watcher("w", options, sockets=["api"])


def test_flapping_defaults_and_overrides():
    defaults = FlappingSpec(attempts=3, window=2.0, retry_in=1.0, max_retry=-1)
    cfg = parse_watcher("w", {"cmd": "x", "flapping.window": "4"}, flapping_defaults=defaults)
    assert cfg.flapping == FlappingSpec(attempts=3, window=4.0, retry_in=1.0, max_retry=-1)


# ---- set --------------------------------------------------------------------------------------------

BASE = parse_watcher("web", {"cmd": "run", "numprocesses": 2})


@pytest.mark.parametrize(
    ("key", "value", "attribute", "expected"),
    [
        ("numprocesses", "5", "numprocesses", 5),
        ("NUMPROCESSES", 6, "numprocesses", 6),
        ("args", "--a 'b c'", "args", ("--a", "b c")),
        ("stop_signal", "USR1", "stop_signal", signal.SIGUSR1),
        ("graceful_timeout", 2.5, "graceful_timeout", 2.5),
        ("env", "A=1,B=2", "env", {"A": "1", "B": "2"}),
        ("env", {"A": "1"}, "env", {"A": "1"}),
        ("hooks", {"after_stop": "a.b"}, "hooks", {"after_stop": HookSpec("after_stop", "a.b", True)}),
        ("hooks.before_spawn", "a.b, true", "hooks", {"before_spawn": HookSpec("before_spawn", "a.b", True)}),
        ("rlimit_nofile", "128", "rlimits", {"nofile": 128}),
        (
            "stdout_stream.filename",
            "/tmp/o",
            "stdout_stream",
            StreamSpec("FileStream", {"filename": "/tmp/o"}),
        ),
        ("stdout_stream", {"class": "QueueStream"}, "stdout_stream", StreamSpec("QueueStream", {})),
        ("flapping.attempts", "9", "flapping", FlappingSpec(attempts=9)),
        ("max_surge", "3", "max_surge", 3),
        ("scale_down", "newest", "scale_down", "newest"),
    ],
)
def test_set_watcher_option(key, value, attribute, expected):
    new = set_watcher_option(BASE, key, value)
    assert getattr(new, attribute) == expected
    assert BASE.numprocesses == 2 and not BASE.env and not BASE.hooks  # the original is untouched


def test_set_builds_on_the_current_stream_and_hooks():
    cfg = set_watcher_option(BASE, "stdout_stream", {"class": "FileStream", "filename": "/tmp/a"})
    cfg = set_watcher_option(cfg, "stdout_stream.max_bytes", "100")
    assert cfg.stdout_stream == StreamSpec("FileStream", {"filename": "/tmp/a", "max_bytes": 100})
    cfg = set_watcher_option(cfg, "hooks.before_start", "a.b")
    cfg = set_watcher_option(cfg, "hooks.after_start", "a.c")
    assert set(cfg.hooks) == {"before_start", "after_start"}


def test_set_uid_follows_with_the_primary_group():
    cfg = set_watcher_option(BASE, "uid", "root")
    assert (cfg.uid, cfg.gid) == (0, 0)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "numprocesses",
            "four",
            "[watcher:web] numprocesses: 'four' is not a whole number (expected an integer >= 0)",
        ),
        ("numprocess", 3, "[watcher:web] numprocess: unknown option (did you mean 'numprocesses'?)"),
        ("team", "x", "[watcher:web] team: unknown option"),
        ("name", "other", "[watcher:web] name: a watcher cannot be renamed"),
        ("check_flapping", "true", "[watcher:web] check_flapping: has no effect"),
        (
            "hooks.before_strat",
            "a.b",
            "[watcher:web] hooks.before_strat: unknown hook 'before_strat' (did you mean",
        ),
        ("rlimit_files", "1", "[watcher:web] rlimit_files: unknown resource limit 'files'"),
        ("stdout_stream.max_bytes", "1", "[watcher:web] stdout_stream.max_bytes: a stream needs 'class'"),
        ("flapping.tries", "1", "[watcher:web] flapping.tries: unknown flapping option 'tries'"),
        ("singleton", True, "[watcher:web] numprocesses: a singleton runs at most one process, not 2"),
        ("copy_path", True, "[watcher:web] copy_path: copy_path needs copy_env = true"),
        ("cmd", ["a"], "[watcher:web] cmd: ['a'] is not a command"),
        ("cmd", "run $WID", "[watcher:web] cmd: $WID was removed"),
    ],
)
def test_set_refuses(key, value, message):
    with pytest.raises(ConfigError) as caught:
        set_watcher_option(BASE, key, value)
    assert str(caught.value).startswith(message)


# Circus's add/set whitelist (PROTOCOL 1.6), plus our own rolling-reload options.
SETTABLE = [
    "numprocesses",
    "warmup_delay",
    "working_dir",
    "uid",
    "gid",
    "send_hup",
    "stop_signal",
    "stop_children",
    "shell",
    "env",
    "cmd",
    "args",
    "copy_env",
    "max_retry",
    "graceful_timeout",
    "stdout_stream",
    "stderr_stream",
    "max_age",
    "max_age_variance",
    "respawn",
    "singleton",
    "hooks",
    "close_child_stdin",
    "close_child_stdout",
    "close_child_stderr",
    "stdout_stream.class",
    "stderr_stream.filename",
    "hooks.before_start",
    "rlimit_nofile",
    "rlimits",
    "max_surge",
    "ready_timeout",
    "startup_nice",
    "scale_down",
]
NOT_SETTABLE = [
    "use_sockets",
    "priority",
    "on_demand",
    "autostart",
    "virtualenv",
    "copy_path",
    "executable",
    "shell_args",
    "stdin_socket",
    "umask",
    "flapping.attempts",
    "check_flapping",
    "name",
    "nope",
]


@pytest.mark.parametrize("key", SETTABLE)
def test_settable(key):
    assert is_settable(key)


@pytest.mark.parametrize("key", NOT_SETTABLE)
def test_not_settable(key):
    assert not is_settable(key)


@pytest.mark.parametrize(
    ("key", "reload"),
    [
        *(
            (k, True)
            for k in (
                "cmd",
                "args",
                "env",
                "uid",
                "gid",
                "working_dir",
                "shell",
                "executable",
                "max_age",
                "max_age_variance",
                "rlimit_nofile",
                "rlimits",
                "use_sockets",
                "copy_env",
                "umask",
                "virtualenv",
                "close_child_stdout",
                # A process's pipes are made at spawn: a new stream takes new processes.
                "stdout_stream.filename",
            )
        ),
        *(
            (k, False)
            for k in (
                "numprocesses",
                "warmup_delay",
                "graceful_timeout",
                "stop_signal",
                "hooks.after_stop",
                "respawn",
                "priority",
                "max_surge",
                "flapping.window",
                "nope",
            )
        ),
    ],
)
def test_needs_reload(key, reload):
    assert needs_reload(key) is reload
