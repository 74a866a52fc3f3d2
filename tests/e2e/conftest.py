"""End-to-end fixtures: nginx (installed when missing), the Django example's state (migrated SQLite
database, collected static files, an admin login), and the Django example behind nginx.

Every process these fixtures start is stopped at the end, by the pid they started; circusd's
leftovers fail the test run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.clients import Browser
from tests.e2e.examples import (
    DJANGO_DIR,
    RunningExample,
    prepare_django_state,
    start_example,
    stop_example,
    venv_scripts_env,
)
from tests.e2e.nginx import Nginx, install_nginx

ADMIN = ("admin", "e2e-admin-password-1")


@pytest.fixture(scope="session", autouse=True)
def venv_scripts_on_path():
    """The examples' watchers find `chaussette` and `python` on PATH (copy_env), as under `make run`."""
    saved = os.environ["PATH"]
    os.environ["PATH"] = venv_scripts_env(dict(os.environ))["PATH"]
    yield
    os.environ["PATH"] = saved


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    binary, why = install_nginx()
    if binary is None:
        pytest.skip(f"nginx is needed for this test: {why}")
    return binary


@dataclass
class DjangoState:
    env: dict[str, str]
    static_root: Path


@pytest.fixture(scope="session")
def django_state(tmp_path_factory) -> DjangoState:
    state_dir = tmp_path_factory.mktemp("django-state")
    env = prepare_django_state(state_dir, ADMIN)
    return DjangoState(env, Path(env["DJANGO_STATIC_ROOT"]))


@dataclass
class Stack:
    """circusd running the Django example, and nginx in front of it."""

    app: RunningExample
    nginx: Nginx
    static_root: Path

    def browser(self, keepalive: bool = True) -> Browser:
        return Browser("127.0.0.1", self.nginx.port, keepalive=keepalive)

    def backend(self, keepalive: bool = True) -> Browser:
        """A client that talks to circusd's socket directly, bypassing nginx."""
        if self.app.unix_path:
            return Browser("127.0.0.1", unix_path=self.app.unix_path, keepalive=keepalive)
        return Browser(self.app.host, self.app.port, keepalive=keepalive)


def start_django_stack(
    workdir: Path, nginx_binary: str, state: DjangoState, *, unix: bool, example_dir: Path = DJANGO_DIR
) -> Stack:
    env = {**state.env, "DJANGO_SERVE_STATIC": "0"}  # behind nginx, nginx serves /static/
    unix_socket = workdir / "web.sock" if unix else None
    app = start_example(workdir / "circusd", example_dir, env, unix_socket=unix_socket)
    nginx = Nginx(nginx_binary, workdir / "nginx")
    try:
        upstream = {"upstream_unix": app.unix_path} if unix else {"upstream_tcp": f"{app.host}:{app.port}"}
        nginx.start((example_dir / "nginx.conf").read_text(), static_root=state.static_root, **upstream)
    except BaseException:
        stop_example(app)
        raise
    return Stack(app, nginx, state.static_root)


def stop_stack(stack: Stack) -> None:
    stack.nginx.stop()
    stop_example(stack.app)


@pytest.fixture(scope="module")
def django_stack(tmp_path_factory, nginx_binary, django_state):
    """The Django example on circusd's TCP socket, behind nginx; shared by a module's tests."""
    stack = start_django_stack(tmp_path_factory.mktemp("django-tcp"), nginx_binary, django_state, unix=False)
    yield stack
    stop_stack(stack)


@pytest.fixture(scope="session")
def chromium() -> str:
    from tests.e2e.console import install_chromium

    path, why = install_chromium()
    if path is None:
        pytest.skip(f"Chromium and chromedriver are needed for this test: {why}")
    return path


@pytest.fixture(scope="session")
def stats_fleet(tmp_path_factory):
    """Two namespace hosts with circusd and circusd-stats (CurveZMQ over TCP), and their fleet file,
    for the fleet's circus-top and console; a test that stops a node starts it again."""
    from circus_web_stack.testing.fleet_hosts import HostFleet
    from circus_web_stack.testing.netns import netns_refusal

    refusal = netns_refusal()
    if refusal:
        pytest.skip(refusal)
    fleet = HostFleet(tmp_path_factory.mktemp("stats-fleet"), 2, statsd=True).open()
    try:
        fleet.write_fleet_file(fleet.workdir / "fleet.ini")
        yield fleet
    finally:
        fleet.close()
