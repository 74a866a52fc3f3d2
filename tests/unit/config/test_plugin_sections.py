"""[plugin:NAME] at load: use = mapped and imported (refused with file, line and what was tried), a
shipped plugin's keys checked, watcher keys to the process, the rest passed as text."""

from __future__ import annotations

import json
import textwrap

import pytest

from circus_web_stack.config.loader import load_config
from circus_web_stack.config.plugin_section import with_plugin_watchers
from circus_web_stack.core.errors import ConfigError


def load(tmp_path, text):
    path = tmp_path / "circus.ini"
    path.write_text(textwrap.dedent(text))
    return load_config(str(path), environ={})


def test_a_circus_plugin_becomes_a_watcher_with_its_keys_passed(tmp_path):
    cfg = load(
        tmp_path,
        """\
        [circus]
        check_delay = 2
        [plugin:statsd]
        use = circus.plugins.statsd.StatsdEmitter
        host = 127.0.0.1
        port = 9125
        priority = 5
        stdout_stream.class = StdoutStream
    """,
    )
    (plugin,) = cfg.plugins
    assert plugin.target == "circus_web_stack.plugins.statsd.StatsdEmitter"
    assert dict(plugin.options) == {"host": "127.0.0.1", "port": "9125"}
    w = plugin.watcher
    assert (w.name, w.singleton, w.priority, w.copy_env, w.copy_path) == (
        "plugin:statsd",
        True,
        5,
        True,
        True,
    )
    assert w.stdout_stream is not None
    args = list(w.args)
    assert args[args.index("--check-delay") + 1] == "2.0"
    assert json.loads(args[args.index("--config-json") + 1]) == {"host": "127.0.0.1", "port": "9125"}
    assert args[-1] == plugin.target
    full = with_plugin_watchers(cfg, {"control": "ipc:///c", "pubsub": "ipc:///p"})
    assert full.watcher("plugin:statsd").args[-4:] == ("--endpoint", "ipc:///c", "--pubsub", "ipc:///p")
    assert with_plugin_watchers(full, {"control": "x", "pubsub": "y"}) == full


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("use = circus.plugins.nope.Nope\n", "is not one of Circus's plugins"),
        ("use = nowhere.Thing\n", "cannot import 'nowhere.Thing': importing nowhere failed: No module named"),
        (
            "use = circus_web_stack.plugins.statsd.StatsdEmiter\n",
            "has no StatsdEmiter (did you mean 'StatsdEmitter'?)",
        ),
        ("use = circus_web_stack.plugins.statsd.watcher_gauges\n", "is not a plugin class"),
        ("use = circus.plugins.statsd.StatsdEmitter\nport = http\n", "port: 'http' is not a whole number"),
        (
            "use = circus.plugins.statsd.StatsdEmitter\nprot = 1\n",
            "prot: unknown option of StatsdEmitter (did you mean 'port'?)",
        ),
        ("use = circus.plugins.resource_watcher.ResourceWatcher\n", "watcher: required option missing"),
        (
            "use = circus.plugins.resource_watcher.ResourceWatcher\nwatcher = w\nmax_mem = lots\n",
            "max_mem: 'lots' is not a memory limit",
        ),
        (
            "use = circus.plugins.statsd.StatsdEmitter\ncmd = evil\n",
            "cmd: a plugin's process runs the plugin",
        ),
        (
            "use = circus.plugins.flapping.Flapping\nattemps = 3\n",
            "attemps: unknown flapping option (did you mean 'attempts'?)",
        ),
    ],
)
def test_refused_at_load_with_file_and_line(tmp_path, text, error):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "[plugin:p]\n" + text)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'circus.ini'}:"), message
    assert error in message


def test_keys_with_no_effect_are_warned(tmp_path):
    cfg = load(
        tmp_path,
        """\
        [plugin:statsd]
        use = circus.plugins.statsd.StatsdEmitter
        flush_interval = 10
        [plugin:flapping]
        use = circus.plugins.flapping.Flapping
        active = false
        priority = 3
        attempts = 4
    """,
    )
    warnings = "\n".join(cfg.warnings)
    assert (
        "[plugin:statsd] flush_interval: has no effect: StatsdEmitter has no option 'flush_interval'"
        in warnings
    )
    assert "[plugin:flapping] active: has no effect: flapping is built into every watcher" in warnings
    assert "[plugin:flapping] priority: has no effect: this section configures the flapping" in warnings
    assert cfg.plugin("flapping").watcher is None and cfg.plugin("flapping").flapping.attempts == 4


def test_an_inactive_plugin_runs_nothing_and_compat_keys_warn(tmp_path):
    cfg = load(
        tmp_path,
        """\
        [circus]
        statsd_close_outputs = true
        [plugin:statsd]
        use = circus.plugins.statsd.StatsdEmitter
        active = false
    """,
    )
    assert cfg.plugin("statsd").watcher is None
    assert any("statsd_close_outputs: has no effect" in w for w in cfg.warnings)
