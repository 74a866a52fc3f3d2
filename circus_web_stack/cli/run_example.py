"""`make run`: prepare an example (Django by default: migrations, static files), run circusd on its
circus.ini in the foreground, and say what to open and how to control it.

Rule: each Ctrl-C reaches circusd exactly once (the first stops gracefully, a second at once), and
this command returns only when circusd has stopped, after it stopped every process it started.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from circus_web_stack.cli.exit_codes import EXIT_BIND, EXIT_SETUP
from circus_web_stack.client.daemon import CallError, CircusClient
from circus_web_stack.config.loader import load_config
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = ("django", "flask")
REQUIRED_PACKAGE = {"django": "django", "flask": "flask"}
HEALTH_PATH = "/healthz"
READY_TIMEOUT_S = 60.0
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ListeningAddress:
    """Where the example's [socket:web] is bound: a TCP host and port, or a unix socket path."""

    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def url(self) -> str:
        if self.path:
            return f"unix:{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


class SetupError(Exception):
    """The example cannot be started; the message says what to do."""


# ----------------------------------------------------------------- pure helpers


def example_environment(environ: Mapping[str, str], scripts_dir: str) -> dict[str, str]:
    """The environment for circusd and, through copy_env, its workers: the venv's scripts first on
    PATH, so `chaussette` and `python` in circus.ini are this install's."""
    env = dict(environ)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != scripts_dir]
    env["PATH"] = os.pathsep.join([scripts_dir, *path])
    return env


def control_endpoint(configured: str | None, environ: Mapping[str, str], uid: int) -> str:
    """The endpoint circusd will listen on: the config's, else the default private socket."""
    return configured or default_endpoints(default_runtime_dir(environ, uid))["control"]


def shown_path(path: Path, cwd: Path) -> str:
    """`path` relative to `cwd` when it is inside it (shorter commands to copy), else absolute."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def banner(example: str, address: ListeningAddress, endpoint: str, bin_dir: str, example_dir: str) -> str:
    """What to open and how to control the running example."""
    url = address.url
    lines = ["", "=" * 78, f"  The {example.capitalize()} example is running under circusd."]
    if address.path:
        lines.append(f"  It listens on the unix socket {address.path}: put nginx in front (nginx.conf).")
    else:
        lines += [
            f"    notes page    {url}",
            f"    slow request  {url}slow/?seconds=5",
            f"    health check  {url}healthz",
        ]
        if example == "django":
            lines += [
                f"    admin         {url}admin/",
                f"      (make a login first: {bin_dir}/python {example_dir}/manage.py createsuperuser)",
            ]
    lines += [
        "",
        "  In another terminal, from this directory:",
        f"    {bin_dir}/circusctl status          every watcher and its state",
        f"    {bin_dir}/circusctl list web        the web workers' pids",
        f"    {bin_dir}/circusctl incr web        one more web worker (decr web: one fewer)",
        f"    {bin_dir}/circusctl reload web      rolling reload, no request lost",
        f"    {bin_dir}/circusctl stats web       CPU and memory per worker",
        f"    {bin_dir}/circus-top                 the same, live",
        f"  circusctl finds circusd's control socket by itself ({endpoint}).",
        "",
        "  Ctrl-C here stops everything (graceful: in-flight requests finish); twice stops at once.",
        "=" * 78,
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------- preparing an example


def find_scripts_dir() -> str:
    scripts = sysconfig.get_path("scripts")
    if not os.access(os.path.join(scripts, "chaussette"), os.X_OK):
        raise SetupError(
            f"chaussette is not installed in {scripts}: install this project first "
            "(`make run` does it, or `pip install -e '.[examples]'`)"
        )
    return scripts


def check_installed(example: str) -> None:
    package = REQUIRED_PACKAGE[example]
    if importlib.util.find_spec(package) is None:
        raise SetupError(
            f"{package} is not installed in {sys.prefix}: the examples need the [examples] extra; "
            f"run `make run` (it installs it) or `{sys.executable} -m pip install -e '.[examples]'`"
        )


def prepare_django(example_dir: Path, env: Mapping[str, str]) -> None:
    """Apply migrations (the first run creates the SQLite database) and collect static files into
    STATIC_ROOT, where the app (or nginx) serves them. Both are quick when there is nothing to do."""
    manage = [sys.executable, "manage.py"]
    db_path = Path(env.get("DJANGO_DB_PATH") or example_dir / "db.sqlite3")
    if not db_path.exists():
        print(f"First run: creating the SQLite database {db_path} (manage.py migrate)", flush=True)
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = subprocess.run([*manage, *step, "--verbosity", "0"], cwd=example_dir, env=dict(env))
        if done.returncode != 0:
            raise SetupError(f"`python manage.py {' '.join(step)}` in {example_dir} failed (see above)")


PREPARE = {"django": prepare_django}


# ----------------------------------------------------------------- running circusd


def _die_with_parent() -> None:
    """In the child before exec: if this command is killed outright, circusd gets SIGTERM and stops
    its processes, instead of running on without a terminal."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_circusd(example_dir: Path, env: Mapping[str, str]) -> subprocess.Popen:
    # Its own process group: the terminal's Ctrl-C reaches only this command, which forwards it once.
    # In the same group circusd would get each Ctrl-C twice, and the second means "stop at once".
    return subprocess.Popen(
        [sys.executable, "-m", "circus_web_stack.cli.circusd", "circus.ini"],
        cwd=example_dir,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        process_group=0,
        preexec_fn=_die_with_parent,
    )


def forward_stop_signals(circusd: subprocess.Popen) -> None:
    def forward(signum: int, frame: FrameType | None) -> None:
        # A closed terminal (SIGHUP) means stop: to circusd, SIGHUP would mean "reload the config".
        sent = signal.SIGTERM if signum == signal.SIGHUP else signum
        if circusd.poll() is None:
            circusd.send_signal(sent)
            # os.write, not print: a handler that prints while the main code prints raises RuntimeError.
            # And never raise from here: with `make run | tee log`, Ctrl-C kills tee too, and a failed
            # write must not keep the signal from circusd (it is sent first) or end this command early.
            note = f"\nrun_example: sent {signal.Signals(sent).name} to circusd (pid {circusd.pid})\n"
            with contextlib.suppress(OSError):
                os.write(sys.stdout.fileno(), note.encode())

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)


def http_status(address: ListeningAddress, path: str, timeout_s: float) -> int:
    """The status of GET `path` on `address` (TCP or unix socket); OSError if it does not answer."""
    conn = http.client.HTTPConnection(address.host or "localhost", address.port or 80, timeout=timeout_s)
    if address.path:
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(timeout_s)
        sock.connect(address.path)
        conn.sock = sock
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except http.client.HTTPException as exc:
        raise OSError(str(exc)) from exc
    finally:
        conn.close()


def bound_address(endpoint: str) -> ListeningAddress | None:
    """The web socket's address as circusd reports it (`listsockets`), or None if it does not answer."""
    try:
        with CircusClient(endpoint, timeout=1.0) as client:
            reply = client.call_ok("listsockets")
    except CallError:
        return None
    for info in reply.get("sockets", []):
        if info.get("name") == "web":
            return ListeningAddress(
                str(info.get("host", "")), int(info.get("port", 0)), str(info.get("path", ""))
            )
    return None


def wait_serving(circusd: subprocess.Popen, endpoint: str) -> ListeningAddress | None:
    """Poll until the example answers its health check, circusd exits, or READY_TIMEOUT_S passes."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    address = None
    while time.monotonic() < deadline and circusd.poll() is None:
        address = address or bound_address(endpoint)
        if address is not None:
            with contextlib.suppress(OSError):
                if http_status(address, HEALTH_PATH, 2.0) == 200:
                    return address
        time.sleep(0.2)
    return None


def say(text: str, *, error: bool = False) -> None:
    """Print, unless the terminal or pipe is gone (`make run | tee log` after Ctrl-C): there is no one
    left to tell, and waiting for circusd to stop matters more."""
    with contextlib.suppress(OSError):
        print(text, file=sys.stderr if error else sys.stdout, flush=True)


def run(example: str, example_dir: Path) -> int:
    ini = example_dir / "circus.ini"
    if not ini.is_file():
        raise SetupError(f"{ini} does not exist: examples are {', '.join(EXAMPLES)} in {EXAMPLES_DIR}")
    check_installed(example)
    scripts = find_scripts_dir()
    env = example_environment(os.environ, scripts)
    prepare = PREPARE.get(example)
    if prepare is not None:
        prepare(example_dir, env)
    try:
        config = load_config(str(ini), environ=env)
    except ConfigError as exc:
        raise SetupError(str(exc)) from None
    endpoint = control_endpoint(config.daemon.endpoint, env, os.getuid())

    say(f"Starting circusd with {ini}")
    circusd = start_circusd(example_dir, env)
    forward_stop_signals(circusd)
    address = wait_serving(circusd, endpoint)
    cwd = Path.cwd()
    if address is not None:
        say(banner(example, address, endpoint, shown_path(Path(scripts), cwd), shown_path(example_dir, cwd)))
    elif circusd.poll() is None:
        say(
            f"run_example: the example did not answer {HEALTH_PATH} within {READY_TIMEOUT_S:g}s; "
            "see the log above"
        )
    code = circusd.wait()
    if code == EXIT_BIND:
        say(
            "run_example: circusd could not bind its sockets (see the log above). Is another `make run`, "
            "circusd or a server on the same port already running?",
            error=True,
        )
    else:
        say(f"run_example: circusd stopped (exit code {code})")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m circus_web_stack.cli.run_example",
        description="Run an example web stack under circusd in the foreground (what `make run` does).",
    )
    parser.add_argument("example", nargs="?", default="django", choices=EXAMPLES)
    parser.add_argument("--dir", type=Path, help="the example's directory (default: examples/EXAMPLE)")
    args = parser.parse_args(argv)
    example_dir = (args.dir or EXAMPLES_DIR / args.example).resolve()
    try:
        return run(args.example, example_dir)
    except SetupError as exc:
        print(f"run_example: {exc}", file=sys.stderr)
        return EXIT_SETUP


if __name__ == "__main__":
    sys.exit(main())
