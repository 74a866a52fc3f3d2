"""Shared fixtures: a factory for real circusd daemons that are always stopped, leaving nothing behind."""

from __future__ import annotations

import pytest

from circus_web_stack.testing.harness import Daemon


@pytest.fixture
def circusd(tmp_path):
    """`circusd(ini_text)` starts a real daemon in tmp_path; every daemon is stopped after the test and
    the test fails if any process it spawned was left alive."""
    daemons: list[Daemon] = []

    def start(ini: str, *, extra_args: tuple[str, ...] = (), workdir=None) -> Daemon:
        path = workdir or tmp_path / f"d{len(daemons)}"
        path.mkdir(exist_ok=True)
        daemon = Daemon(path, ini, extra_args=extra_args).start()
        daemons.append(daemon)
        return daemon

    yield start
    leftovers = {d.workdir.name: d.close() for d in daemons}
    assert not any(leftovers.values()), f"processes left behind: {leftovers}"
