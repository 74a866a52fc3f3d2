"""docs/security.md's CurveZMQ recipes, run as written in a temp dir: the keys made with the doc's
commands, circusd on the doc's [circus] section, circusctl and circus-top with the doc's options.

What differs from the doc, and why: the ports 5555-5557 are free ports this test picks (the
endpoints still bind 0.0.0.0 as written, so the non-loopback rule and CurveZMQ are exercised), and
`host` is 127.0.0.1 (no traffic leaves this machine). `.venv` is a link to the venv running the tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from circus_web_stack.testing.harness import Daemon
from circus_web_stack.testing.recipes import recipe
from circus_web_stack.testing.terminal import Terminal
from tests.e2e.nginx import free_port

BIN = Path(sys.executable).parent
DOC_PORTS = (5555, 5556, 5557)


def localized(text: str, ports: dict[int, int]) -> str:
    text = text.replace("tcp://host:", "tcp://127.0.0.1:")
    return re.sub(r":(555[567])\b", lambda m: f":{ports[int(m[1])]}", text)


def run_sh(line: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        ["sh", "-eu", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def merged_circus_sections(*texts: str) -> str:
    """The doc's [circus] snippets as one section (the second one adds to the first)."""
    lines = ["[circus]"]
    for text in texts:
        assert text.startswith("[circus]\n"), text
        lines += text.splitlines()[1:]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def curve_daemon(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("app")
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    made = run_sh(recipe("security-make-keys").text, workdir)
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (workdir / "keys").iterdir()) == [
        "alice.key",
        "alice.key_secret",
        "server.key",
        "server.key_secret",
    ]
    assert [p.name for p in (workdir / "clients").iterdir()] == ["alice.key"]
    ports = {port: free_port() for port in DOC_PORTS}
    ini = merged_circus_sections(recipe("security-curve-ini").text, recipe("security-stats-ini").text)
    daemon = Daemon(workdir, localized(ini, ports)).start()
    try:
        daemon.wait_log("control endpoint on tcp://0.0.0.0:", 20)
        daemon.wait_children(1, "circusd_stats")
        yield daemon, workdir, ports
    finally:
        assert daemon.close() == []


def test_keys_config_and_circusctl_as_the_doc_says(curve_daemon):
    daemon, workdir, ports = curve_daemon
    assert (
        "CurveZMQ: admitting 1 client key from clients (curve_client_keys_dir), and the daemon's own "
        "key, which circusd-stats and circushttpd use"
    ) in daemon.log()
    (command,) = recipe("security-circusctl").commands()
    done = run_sh(localized(command.line, ports), workdir)
    assert (done.returncode, done.stdout) == (0, "circusd-stats: active\n"), done.stderr
    # Without the client key the daemon does not answer at all.
    bare = run_sh(f"circusctl --timeout 2 --endpoint tcp://127.0.0.1:{ports[5555]} status", workdir)
    assert bare.returncode == 3


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_circus_top_with_the_doc_options(curve_daemon, tmp_path):
    _, workdir, ports = curve_daemon
    (command,) = recipe("security-circus-top").commands()
    line = f"cd {workdir} && PATH={BIN}:$PATH {localized(command.line, ports)}"
    term = Terminal(tmp_path, ["sh", "-c", line])
    try:
        term.wait_screen("circusd-stats", 20)
        term.keys("q")
        assert term.wait_exit() == 0
    finally:
        term.close()
