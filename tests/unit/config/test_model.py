"""The frozen model: the option tables derive from its fields, it answers `options`/`get`, and diff()
tells a reload what changed."""

from __future__ import annotations

import dataclasses
import json
from operator import attrgetter

import pytest

from circus_web_stack.config.loader import parse_daemon, parse_socket, parse_watcher
from circus_web_stack.config.model import (
    Config,
    DaemonConfig,
    PluginConfig,
    SocketConfig,
    WatcherConfig,
    diff,
)
from circus_web_stack.config.options import DAEMON_OPTIONS, SOCKET_OPTIONS, WATCHER_OPTIONS
from circus_web_stack.config.specs import FrozenMap


def _stored(table) -> set[str]:
    return {name for name, option in table.items() if option.stored}


def test_model_defaults_are_the_table_defaults():
    watcher = WatcherConfig(name="w")
    for name in _stored(WATCHER_OPTIONS):
        assert attrgetter(name)(watcher) == WATCHER_OPTIONS[name].default, name
    daemon = DaemonConfig()
    for name in _stored(DAEMON_OPTIONS):
        assert getattr(daemon, name) == DAEMON_OPTIONS[name].default, name


def test_the_tables_are_the_model_fields_in_order():
    # flapping is a group: its options are named by their attribute path, in its place
    flapping = ["flapping.attempts", "flapping.window", "flapping.retry_in", "flapping.max_retry"]
    watcher_fields = [f.name for f in dataclasses.fields(WatcherConfig)]
    assert [n for n in WATCHER_OPTIONS if WATCHER_OPTIONS[n].stored] == [
        *watcher_fields[1 : watcher_fields.index("flapping")],
        *flapping,
    ]
    assert list(SOCKET_OPTIONS) == [f.name for f in dataclasses.fields(SocketConfig)][1:]
    assert [n for n in DAEMON_OPTIONS if DAEMON_OPTIONS[n].stored] == [
        f.name for f in dataclasses.fields(DaemonConfig)
    ]
    daemon_keys = list(DAEMON_OPTIONS)  # the loader's own keys sit where the docs list them
    after = daemon_keys.index("loggerconfig") + 1
    assert daemon_keys[after : after + 2] == ["include", "include_dir"]


def test_configs_are_frozen_and_hashable():
    cfg = parse_watcher(
        "w",
        {
            "cmd": "x",
            "env": {"A": "1"},
            "hooks": {"before_start": "a.b"},
            "stdout_stream": {"filename": "f"},
            "rlimits": {"nofile": 10},
        },
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.numprocesses = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.env["B"] = "2"  # type: ignore[index]
    assert hash(cfg) == hash(
        parse_watcher(
            "w",
            {
                "cmd": "x",
                "env": {"A": "1"},
                "hooks": {"before_start": "a.b"},
                "stdout_stream": {"filename": "f"},
                "rlimits": {"nofile": 10},
            },
        )
    )
    assert FrozenMap({"a": 1}) == {"a": 1} and FrozenMap({"a": 1}) != {"a": 2}


def test_option_values_answer_options_and_get():
    cfg = parse_watcher(
        "web",
        {
            "cmd": "run",
            "args": ["--x", "a b"],
            "stop_signal": "INT",
            "hooks": {"after_spawn": "pkg.h.f, true"},
            "stdout_stream": {"class": "FileStream", "filename": "/tmp/o", "max_bytes": 10},
            "rlimits": {"nofile": 100, "core": None},
            "umask": "022",
            "flapping.attempts": 5,
            "team": "payments",
        },
    )
    values = cfg.option_values()
    json.dumps(values)  # JSON-serialisable
    assert set(WATCHER_OPTIONS) - values.keys() == {"check_flapping", "stream_backend"}
    assert values["args"] == "--x 'a b'"
    assert values["stop_signal"] == 2
    assert values["hooks"] == {"after_spawn": ["pkg.h.f", True]}
    assert values["stdout_stream"] == {"class": "FileStream", "filename": "/tmp/o", "max_bytes": 10}
    assert values["stderr_stream"] == {}
    assert values["rlimits"] == {"nofile": 100, "core": None}
    assert values["umask"] == 0o22
    assert values["flapping.attempts"] == 5 and values["flapping.window"] == 1.0
    assert values["team"] == "payments"
    json.dumps(parse_daemon({}).option_values())
    assert parse_socket("web", {"port": 80}).option_values()["port"] == 80


def test_config_lookups():
    cfg = Config(
        sockets=(SocketConfig(name="web"),),
        watchers=(WatcherConfig(name="Web", cmd="x"),),
        plugins=(PluginConfig(name="plugin:flapping", use="a.B"),),
    )
    assert cfg.watcher("web") is cfg.watchers[0] and cfg.watcher("nope") is None
    assert cfg.socket("WEB") is cfg.sockets[0]
    assert cfg.plugin("flapping") is cfg.plugin("plugin:flapping") is cfg.plugins[0]


# ---- diff -------------------------------------------------------------------------------------------


def _config(*, daemon=None, sockets=(), watchers=(), plugins=()) -> Config:
    return Config(
        daemon=parse_daemon(daemon or {}),
        sockets=tuple(parse_socket(name, opts) for name, opts in sockets),
        watchers=tuple(parse_watcher(name, opts) for name, opts in watchers),
        plugins=tuple(plugins),
    )


WEB = ("web", {"cmd": "run --fd $(circus.sockets.web)", "use_sockets": True, "numprocesses": 2})
API = ("api", {"cmd": "run", "args": "--fd ((circus.sockets.api))", "use_sockets": True})
WORKER = ("worker", {"cmd": "celery worker"})


def test_identical_configs_have_an_empty_diff():
    old = _config(sockets=[("web", {"port": 80})], watchers=[WEB, WORKER])
    change = diff(old, old)
    assert change.is_empty
    assert change.unchanged_watchers == ("web", "worker")


def test_added_removed_and_scaled():
    old = _config(watchers=[WEB, WORKER])
    new = _config(watchers=[(WEB[0], {**WEB[1], "numprocesses": 5}), API])
    change = diff(old, new)
    assert change.added_watchers == ("api",)
    assert change.removed_watchers == ("worker",)
    assert change.scaled_only == ("web",)
    assert change.changed_watchers == () and change.unchanged_watchers == ()
    assert not change.is_empty


def test_changed_lists_the_differing_options():
    old = _config(watchers=[WEB, WORKER])
    new = _config(
        watchers=[
            (WEB[0], {**WEB[1], "numprocesses": 4, "env": {"A": "1"}}),
            (WORKER[0], {**WORKER[1], "graceful_timeout": 5}),
        ]
    )
    change = diff(old, new)
    assert change.changed_watchers == ("web", "worker")
    assert change.changed_options == {"web": ("numprocesses", "env"), "worker": ("graceful_timeout",)}
    assert change.scaled_only == ()


def test_a_changed_socket_changes_the_watchers_that_use_it():
    old = _config(sockets=[("web", {"port": 80}), ("api", {"port": 81})], watchers=[WEB, API, WORKER])
    new = _config(sockets=[("web", {"port": 8080}), ("api", {"port": 81})], watchers=[WEB, API, WORKER])
    change = diff(old, new)
    assert change.changed_sockets == ("web",)
    assert change.changed_watchers == ("web",)
    assert change.changed_options == {"web": ("socket:web",)}
    assert change.unchanged_watchers == ("api", "worker")


def test_socket_and_plugin_added_removed():
    old = _config(sockets=[("a", {"port": 1})], plugins=[PluginConfig("plugin:x", "a.X")])
    new = _config(
        sockets=[("b", {"port": 2})],
        plugins=[PluginConfig("plugin:x", "a.X", {"k": "v"}), PluginConfig("plugin:y", "a.Y")],
    )
    change = diff(old, new)
    assert (change.added_sockets, change.removed_sockets) == (("b",), ("a",))
    assert (change.added_plugins, change.removed_plugins, change.changed_plugins) == (
        ("plugin:y",),
        (),
        ("plugin:x",),
    )


def test_daemon_changes_name_their_keys():
    change = diff(_config(), _config(daemon={"check_delay": 1, "loglevel": "debug"}))
    assert change.daemon_changed
    assert change.daemon_keys == ("check_delay", "loglevel")
