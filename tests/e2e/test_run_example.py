"""`make run` as a user runs it: the first run creates the database, the banner says what to open,
Ctrl-C stops everything with no process left behind, and so does killing the command outright.

The example is a copy of examples/django whose socket is on port 0, so the test never needs port 8000.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from circus_web_stack.testing.waiting import wait_until
from tests.e2e.clients import Browser
from tests.e2e.examples import DJANGO_DIR

pytestmark = pytest.mark.slow

BANNER_URL = re.compile(r"notes page\s+http://(?P<host>[\d.]+):(?P<port>\d+)/")


def copy_example(tmp_path: Path) -> Path:
    dest = tmp_path / "django"
    shutil.copytree(
        DJANGO_DIR,
        dest,
        ignore=shutil.ignore_patterns("db.sqlite3*", "staticfiles", ".secret_key", "__pycache__"),
    )
    ini = dest / "circus.ini"
    text, count = re.subn(r"^port = 8000$", "port = 0", ini.read_text(), flags=re.MULTILINE)
    assert count == 1, "examples/django/circus.ini should bind port 8000"
    ini.write_text(text)
    return dest


class RunExample:
    """`python -m circus_web_stack.cli.run_example --dir COPY` in its own session, like a terminal's
    foreground job; its output (circusd's log and the banner) goes to a file."""

    def __init__(self, tmp_path: Path) -> None:
        self.example_dir = copy_example(tmp_path)
        self.output = tmp_path / "run_example.out"
        env = dict(os.environ, CIRCUS_RUNTIME_DIR=str(tmp_path / "run"), PYTHONUNBUFFERED="1")
        for name in ("DJANGO_DB_PATH", "DJANGO_STATIC_ROOT", "DJANGO_SECRET_KEY", "DJANGO_SERVE_STATIC"):
            env.pop(name, None)
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "circus_web_stack.cli.run_example", "--dir", str(self.example_dir)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.output.read_text()

    def wait_banner(self) -> tuple[str, int]:
        match = wait_until(lambda: BANNER_URL.search(self.text()), 60, f"the banner; output:\n{self.text()}")
        return match["host"], int(match["port"])

    def started_pids(self) -> list[int]:
        """circusd and every process it reported spawning."""
        text = self.text()
        return [
            int(p)
            for p in re.findall(r"circusd\[(\d+)\]", text)[:1] + re.findall(r"spawned \S+ pid=(\d+)", text)
        ]

    def close(self) -> list[int]:
        """Stop whatever is still running, by pid; returns the pids that had to be killed."""
        leftovers = []
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pid in self.started_pids():
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                if process.status() != psutil.STATUS_ZOMBIE:
                    leftovers.append(pid)
                    process.kill()
        return leftovers


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
    return living


@pytest.fixture
def run_example(tmp_path):
    runs: list[RunExample] = []

    def start() -> RunExample:
        runs.append(RunExample(tmp_path))
        return runs[-1]

    yield start
    for run in runs:
        assert not run.close(), "processes left behind"


def test_first_run_serves_and_ctrl_c_stops_everything(run_example):
    run = run_example()
    host, port = run.wait_banner()
    text = run.text()
    assert "First run: creating the SQLite database" in text
    assert (run.example_dir / "db.sqlite3").exists()
    assert (run.example_dir / "staticfiles" / "notes" / "style.css").exists()
    assert "circusctl status" in text and "circus-top" in text and "Ctrl-C" in text
    page = Browser(host, port).get("/")
    assert page.status == 200 and "Notes" in page.body
    assert Browser(host, port).get("/static/notes/style.css").status == 200  # served by the app itself
    spawned = sorted(re.findall(r"spawned (\S+)#\d+ pid=", run.text()))
    assert spawned == ["circusd-stats", "web", "web", "web", "web", "worker"], run.text()
    pids = run.started_pids()

    os.killpg(run.proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the foreground group
    assert run.proc.wait(60) == 0, run.text()
    text = run.text()
    assert text.count("got SIGINT: graceful stop") == 1, "circusd must get each Ctrl-C once"
    assert "circusd stopped" in text and "run_example: circusd stopped (exit code 0)" in text
    assert alive(pids) == []


def test_killing_run_example_outright_still_stops_circusd_and_its_processes(run_example):
    run = run_example()
    run.wait_banner()
    pids = run.started_pids()
    run.proc.kill()  # no chance to forward anything: circusd learns it from its parent-death signal
    run.proc.wait(10)
    wait_until(lambda: not alive(pids), 60, f"every process of the example to exit; output:\n{run.text()}")
    assert "got SIGTERM: graceful stop" in run.text()
