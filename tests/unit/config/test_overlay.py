"""The overlay, pure: the difference between the config file and the watchers now, laid back over a
fresh load, and what a bad overlay file is told."""

from __future__ import annotations

import pytest

from circus_web_stack.config.loader import parse_watcher
from circus_web_stack.config.model import Config
from circus_web_stack.config.overlay import Overlay, apply_overlay, overlay_of, parse_overlay
from circus_web_stack.config.watcher_section import set_watcher_option
from circus_web_stack.core.errors import ConfigError


def watcher(name: str, **options: object):
    return parse_watcher(name, {"cmd": "sleep 100", **options})


FILE = Config(watchers=(watcher("a"), watcher("b", numprocesses=2), watcher("c")), path="circus.ini")


def test_the_overlay_holds_only_what_changed_and_restores_it():
    added = watcher("extra", numprocesses=3, env={"A": "1"}, graceful_timeout=5)
    now = [set_watcher_option(FILE.watchers[0], "numprocesses", 4), FILE.watchers[1], added]
    overlay = overlay_of(FILE, now, helpers=("circusd-stats",))
    assert overlay == Overlay({"a": 4}, {"extra": overlay.added["extra"]}, ("c",))
    assert overlay.added["extra"] == {
        "cmd": "sleep 100",
        "numprocesses": 3,
        "env": {"A": "1"},
        "graceful_timeout": 5.0,
    }
    text = overlay.to_json("circus.ini")
    restored = apply_overlay(FILE, parse_overlay(text, "circus.ini.overlay"), "circus.ini.overlay")
    assert {w.name: w for w in restored.watchers} == {w.name: w for w in now}


def test_helpers_and_an_unchanged_daemon_make_an_empty_overlay():
    assert overlay_of(FILE, [*FILE.watchers, watcher("circusd-stats")], helpers=("circusd-stats",)).empty


def test_the_file_wins_where_it_caught_up():
    overlay = Overlay({"gone": 3}, {"a": {"cmd": "other"}}, ())
    result = apply_overlay(FILE, overlay, "o")
    assert result.watcher("a") == FILE.watcher("a")
    assert any("numprocesses of gone: no such watcher" in w for w in result.warnings)
    assert any("added watcher a: the config defines it now" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('{"version": 7}', "not an overlay of version 1"),
        ('{"version": 1, "numprocesses": {"a": -1}}', "expected numprocesses {name: count}"),
        ('{"version": 1, "removed": "a"}', "removed [names]"),
    ],
)
def test_a_bad_overlay_names_the_file_and_the_problem(text, message):
    with pytest.raises(ConfigError, match=r"circus\.ini\.overlay") as caught:
        parse_overlay(text, "circus.ini.overlay")
    assert message in str(caught.value)
