"""gevent's patch_all() looks up plugin entry points per event; within the block one reading serves all."""

from __future__ import annotations

from importlib import metadata

from chaussette_compat.backends.gevent_server import entry_points_read_once


def described(entry_points) -> list[tuple[str, str, str]]:
    return sorted((ep.group, ep.name, ep.value) for ep in entry_points)


def test_one_reading_answers_every_lookup_and_selections_match(monkeypatch):
    readings = []
    original = metadata.entry_points

    def counting(**selection):
        readings.append(selection)
        return original(**selection)

    monkeypatch.setattr(metadata, "entry_points", counting)
    with entry_points_read_once():
        scripts = described(metadata.entry_points(group="console_scripts"))
        for _ in range(25):
            assert described(metadata.entry_points(group="console_scripts")) == scripts
        plugins = "gevent.plugins.monkey.will_patch_all"
        assert described(metadata.entry_points(group=plugins)) == described(original(group=plugins))
    assert readings == [{}]
    assert scripts == described(original(group="console_scripts"))
    assert ("console_scripts", "circusd", "circus_web_stack.cli.circusd:main") in scripts
    assert metadata.entry_points is counting  # put back as it was
