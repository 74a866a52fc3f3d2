"""The examples as the end-to-end tests run them: their own circus.ini with only what a temp dir needs
changed (socket port 0 or a unix path, working_dir, state paths, worker logs to files), under a real
circusd from the test harness.

Rule: the app code, the watchers' commands and their options are the shipped ones; a test that
passes here passes for `make run` and for the deploy guide's config.
"""

from __future__ import annotations

import configparser
import io
import os
import re
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from circus_web_stack.cli.run_example import example_environment, prepare_django
from circus_web_stack.testing.harness import Daemon
from circus_web_stack.testing.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
DJANGO_DIR = REPO / "examples" / "django"
FLASK_DIR = REPO / "examples" / "flask"


def adapt_ini(
    ini_path: Path,
    *,
    working_dir: Path,
    logs_dir: Path,
    env: dict[str, str],
    unix_socket: Path | None = None,
    overrides: dict[str, dict[str, str]] | None = None,
) -> str:
    """The example's ini for a temp dir; `overrides` sets more keys ({section: {key: value}}), each of
    which the shipped file must already have."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # keep the case of [env] names
    parser.read(ini_path)
    sock = parser["socket:web"]
    if unix_socket is not None:
        for key in ("host", "port"):
            sock.pop(key, None)
        sock["path"] = str(unix_socket)
    else:
        sock["port"] = "0"
    watchers = [name for name in parser.sections() if name.startswith("watcher:")]
    for section in watchers:
        name = section.split(":", 1)[1]
        parser[section]["working_dir"] = str(working_dir)
        for stream in ("stdout", "stderr"):
            parser[section][f"{stream}_stream.class"] = "WatchedFileStream"
            parser[section][f"{stream}_stream.filename"] = str(logs_dir / f"{name}.{stream}.log")
    env_sections = [name for name in parser.sections() if name == "env" or name.startswith("env:")]
    assert env_sections, f"{ini_path} has no [env] section"
    parser[env_sections[0]].update(env)
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            assert key in parser[section], f"{ini_path} has no {key} in [{section}] to override"
            parser[section][key] = value
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


@dataclass
class RunningExample:
    daemon: Daemon
    logs_dir: Path
    host: str = ""
    port: int = 0
    unix_path: str = ""
    numprocesses: int = 0
    extra: dict = field(default_factory=dict)

    def worker_log(self, name: str, stream: str = "stderr") -> str:
        path = self.logs_dir / f"{name}.{stream}.log"
        return path.read_text() if path.exists() else ""

    def circusctl(self, *args: str, timeout: float = 120) -> str:
        """Run the real circusctl against this daemon; its output, or AssertionError if it failed."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "circus_web_stack.cli.circusctl",
                "--endpoint",
                self.daemon.endpoint,
                "--timeout",
                str(timeout),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout + 10,
        )
        assert done.returncode == 0, f"circusctl {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout


def start_example(
    workdir: Path, example_dir: Path, env: dict[str, str], *, unix_socket: Path | None = None
) -> RunningExample:
    """circusd on the example's adapted circus.ini; returns once every web worker serves."""
    logs_dir = workdir / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    ini = adapt_ini(
        example_dir / "circus.ini",
        working_dir=example_dir,
        logs_dir=logs_dir,
        env=env,
        unix_socket=unix_socket,
    )
    daemon = Daemon(workdir, ini).start()
    running = RunningExample(daemon, logs_dir)
    try:
        match = daemon.wait_log(r"bound socket web on (?P<addr>\S+) \(fd \d+\)", 20)
        if unix_socket is not None:
            running.unix_path = match["addr"]
        else:
            host, port = match["addr"].rsplit(":", 1)
            running.host, running.port = host, int(port)
        running.numprocesses = int(daemon.wait_log(r"web started with (\d+) process", 30)[1])
        wait_until(
            lambda: running.worker_log("web").count("serving on") >= running.numprocesses,
            60,
            f"{running.numprocesses} web workers serving; log:\n{running.worker_log('web')[-3000:]}",
        )
    except BaseException:
        stop_example(running)
        raise
    return running


def stop_example(running: RunningExample) -> None:
    leftovers = running.daemon.close()
    assert not leftovers, f"processes left behind by circusd: {leftovers}"


def tracebacks(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"Traceback \(most recent call last\):(?:\n[ \t].*)*\n.*", text)]


def venv_scripts_env(environ: dict[str, str]) -> dict[str, str]:
    """PATH with this interpreter's scripts dir first, as `make run` does, for `copy_env` watchers."""
    return example_environment(environ, sysconfig.get_path("scripts"))


def django_env(state_dir: Path) -> dict[str, str]:
    """The Django settings a test deployment sets: its own database, static root and secret key."""
    return {
        "DJANGO_DB_PATH": str(state_dir / "db.sqlite3"),
        "DJANGO_STATIC_ROOT": str(state_dir / "static"),
        "DJANGO_SECRET_KEY": "e2e-tests-only-" + "x" * 40,
    }


def prepare_django_state(state_dir: Path, superuser: tuple[str, str]) -> dict[str, str]:
    """Migrate and collectstatic with run_example's own code, then make an admin login."""
    env = django_env(state_dir)
    full_env = venv_scripts_env({**os.environ, **env})
    prepare_django(DJANGO_DIR, full_env)
    username, password = superuser
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "createsuperuser",
            "--noinput",
            "--username",
            username,
            "--email",
            "admin@example.com",
        ],
        cwd=DJANGO_DIR,
        env={**full_env, "DJANGO_SUPERUSER_PASSWORD": password},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return env
