"""README.md's blocks, read from it: the two make targets (as `make -n`: the suite cannot run
itself, and tests/e2e/test_run_example.py runs `make run`'s program), the banner `make run` prints,
and the tour's circusctl commands against the Django example under a real circusd (on a free port
instead of 8000), each checked against the comment beside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from circus_web_stack.cli.run_example import ListeningAddress, banner
from circus_web_stack.testing.recipes import REPO, recipe
from tests.e2e.examples import DJANGO_DIR, start_example, stop_example

BIN = Path(sys.executable).parent


def test_the_make_targets_do_what_the_comments_say():
    expected = {"run": ["circus_web_stack.cli.run_example"], "test": ["ruff check", "pytest"]}
    commands = recipe("readme-make").commands()
    assert [c.line for c in commands] == ["make run", "make test"]
    for command in commands:
        target = command.line.split()[1]
        dry = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=30)
        assert dry.returncode == 0, dry.stderr
        assert all(word in dry.stdout for word in expected[target]), dry.stdout
        assert command.claim.startswith("creates .venv, installs")


def test_the_banner_is_what_run_example_prints():
    printed = banner("django", ListeningAddress("127.0.0.1", 8000), "ipc://x", ".venv/bin", "examples/django")
    for line in recipe("readme-banner").text.splitlines():
        assert line.strip() in printed, line


@pytest.fixture(scope="module")
def django_example(tmp_path_factory, django_state):
    app = start_example(tmp_path_factory.mktemp("readme") / "circusd", DJANGO_DIR, django_state.env)
    yield app
    stop_example(app)


def test_the_tour_commands_print_what_the_comments_say(django_example):
    env = dict(os.environ, CIRCUS_RUNTIME_DIR=str(django_example.daemon.runtime_dir))
    outputs = {}
    for command in recipe("readme-look").commands():
        line = command.line.replace(".venv/bin/", f"{BIN}/")
        done = subprocess.run(["sh", "-c", line], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (command.line, done.stderr)
        outputs[command.claim] = done.stdout
    status = outputs["circusd-stats, web and worker: active"]
    assert status == "circusd-stats: active\nweb: active\nworker: active\n"
    assert len(outputs["the pids of the 4 web workers"].strip().split(",")) == 4
    sockets = outputs["web on 127.0.0.1:8000, bound once by circusd"]
    assert f"socket 'web' at 127.0.0.1:{django_example.port}" in sockets, sockets
