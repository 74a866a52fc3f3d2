"""Shared fixtures: a factory for real circusd daemons that are always stopped, leaving nothing behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks import peers
from circus_web_stack.testing.harness import Daemon, Launcher, pid_namespace_refusal


@pytest.fixture
def circusd(tmp_path):
    """`circusd(ini_text)` starts a real daemon in tmp_path; every daemon is stopped after the test and
    the test fails if any process it spawned was left alive."""
    daemons: list[Daemon] = []

    def start(
        ini: str,
        *,
        extra_args: tuple[str, ...] = (),
        workdir=None,
        launcher: Launcher | None = None,
        env: dict[str, str] | None = None,
    ) -> Daemon:
        path = workdir or tmp_path / f"d{len(daemons)}"
        path.mkdir(exist_ok=True)
        daemon = Daemon(path, ini, extra_args=extra_args, launcher=launcher, env=env).start()
        daemons.append(daemon)
        return daemon

    yield start
    leftovers = {d.workdir.name: d.close() for d in daemons}
    assert not any(leftovers.values()), f"processes left behind: {leftovers}"


@pytest.fixture(scope="session")
def circus_peer() -> Path:
    """The bin directory of Circus 0.19 (circusctl, circus-top, circusd), in the venv the benchmarks
    use (benchmarks/peers.py), made once and reused; the test is skipped with the reason only if the
    package cannot be installed."""
    try:
        peer = peers.ensure(peers.CIRCUS)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"circus 0.19.0 could not be installed from the package index: {exc}")
    return peer.bin("circusctl").parent


@pytest.fixture(scope="session")
def pid_namespace() -> None:
    """Skips, with the reason, where circusd cannot be PID 1 of a new PID namespace."""
    refusal = pid_namespace_refusal()
    if refusal is not None:
        pytest.skip(refusal)
