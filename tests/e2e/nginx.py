"""nginx for the end-to-end tests: installed from the system's packages when missing, run as our own
master process (`daemon off`) with every file it writes in a temp dir, stopped by the pid we started.

Rule: the example's site file (examples/django/nginx.conf) is used as shipped, with only the
directives a test must change (listen, upstream server, static alias) rewritten; each rewrite must
match exactly once, so a change to the example that a test no longer covers fails loudly.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from circus_web_stack.testing.os_packages import ensure_installed
from circus_web_stack.testing.waiting import wait_until

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
MIME_TYPES = Path("/etc/nginx/mime.types")
PORT_ATTEMPTS = 5


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    for directory in SBIN_DIRS:
        candidate = Path(directory) / "nginx"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def install_nginx() -> tuple[str | None, str]:
    """nginx's path, installing it with apt-get when it is missing; (None, why) when that fails."""
    return ensure_installed(["nginx"], find_nginx)


def free_port() -> int:
    """A port that was free a moment ago (nginx cannot bind port 0); callers retry on a clash."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def replace_once(text: str, pattern: str, replacement: str) -> str:
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"expected exactly one match of /{pattern}/ in the example's nginx.conf, found {count}"
    return new


def render_site(
    site_conf: str, *, port: int, static_root: Path, upstream_tcp: str = "", upstream_unix: str = ""
) -> str:
    """The example's site file for this test: listen on 127.0.0.1:port, proxy to `upstream_tcp`
    (HOST:PORT, the shipped TCP line) or `upstream_unix` (a path, the shipped unix variant)."""
    text = replace_once(site_conf, r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{port};")
    text = replace_once(text, r"^(\s*)alias /srv/mysite/staticfiles/;", rf"\g<1>alias {static_root}/;")
    if upstream_unix:
        text = replace_once(text, r"^(\s*)server 127\.0\.0\.1:8000;", r"\g<1># (TCP line off for this test)")
        text = replace_once(
            text, r"^(\s*)# server unix:/run/mysite/web\.sock;", rf"\g<1>server unix:{upstream_unix};"
        )
    else:
        text = replace_once(text, r"^(\s*)server 127\.0\.0\.1:8000;", rf"\g<1>server {upstream_tcp};")
    return text


def main_conf(prefix: Path, site_path: Path) -> str:
    """nginx.conf's outer part as a distribution ships it, with every path inside `prefix`."""
    # nginx started by root switches its workers to `user` (default nobody), who could not read the
    # test's private temp dir: the workers keep root here. As a normal user the line is ignored.
    user = "user root root;" if os.geteuid() == 0 else ""
    types = f"include {MIME_TYPES};" if MIME_TYPES.is_file() else "types { text/css css; text/html html; }"
    temp_paths = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        textwrap.dedent(f"""\
        {user}
        worker_processes 1;
        pid {prefix / "nginx.pid"};
        error_log {prefix / "error.log"} info;
        events {{ worker_connections 1024; }}
        http {{
            {types}
            default_type application/octet-stream;
            access_log {prefix / "access.log"};
            sendfile on;
            keepalive_timeout 65;
        """)
        + temp_paths
        + f"\n    include {site_path};\n}}\n"
    )


@dataclass
class Nginx:
    binary: str
    prefix: Path
    port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return (self.prefix / "error.log").read_text()
        return ""

    def access_log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return (self.prefix / "access.log").read_text()
        return ""

    def start(self, site_conf: str, *, static_root: Path, **upstream: str) -> Nginx:
        """The example's site file, rendered for this test (render_site)."""
        return self.start_site(
            lambda port: render_site(site_conf, port=port, static_root=static_root, **upstream)
        )

    def start_site(self, site_for_port: Callable[[int], str]) -> Nginx:
        """Start with the site file `site_for_port(port)` on a free port, retrying with another port if
        someone took it meanwhile."""
        self.prefix.mkdir(parents=True, exist_ok=True)
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            site_path = self.prefix / "site.conf"
            site_path.write_text(site_for_port(self.port))
            conf = self.prefix / "nginx.conf"
            conf.write_text(main_conf(self.prefix, site_path))
            (self.prefix / "error.log").write_text("")
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "-p",
                    f"{self.prefix}/",
                    "-e",
                    str(self.prefix / "error.log"),
                    "-c",
                    str(conf),
                    "-g",
                    "daemon off;",
                ],
                stdout=subprocess.DEVNULL,
                stderr=open(self.prefix / "stderr.log", "wb"),  # noqa: SIM115
                start_new_session=True,
            )
            if self._wait_listening():
                return self
            self.stop()
            if "Address already in use" not in self.error_log() + self._stderr():
                raise AssertionError(f"nginx did not start:\n{self._stderr()}\n{self.error_log()}")
        raise AssertionError(f"nginx found no free port in {PORT_ATTEMPTS} attempts")

    def _stderr(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return (self.prefix / "stderr.log").read_text()
        return ""

    def _wait_listening(self, timeout: float = 10.0) -> bool:
        assert self.proc is not None

        def listening_or_dead() -> str:
            if self.proc.poll() is not None:
                return "dead"
            if "bind() to" in self.error_log():
                return "dead"  # nginx retries a busy port for 2.5 s before it gives up: do not wait
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return "up"
            return ""

        return wait_until(listening_or_dead, timeout, f"nginx on port {self.port}") == "up"

    def stop(self) -> None:
        """SIGQUIT (finish requests, then exit), SIGKILL after 10 s; workers left over are killed by pid."""
        if self.proc is None:
            return
        workers: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            workers = psutil.Process(self.proc.pid).children()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for worker in workers:
            with contextlib.suppress(psutil.Error):
                worker.kill()
        self.proc = None
