"""docs/deploy.md run block by block, read from the doc, on a fake root in a temp dir (the doc's
"How this guide is tested" says what differs from a real host and why).

Each command of a recipe goes through `stand_in`: the command as written with the fake root's paths,
or the stand-in for what a test cannot do (root, systemd, the network); a command it does not know
fails the test, so the doc cannot grow a step no test runs.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from circus_web_stack.testing.os_packages import ensure_installed
from circus_web_stack.testing.recipes import REPO, Recipe, recipe
from circus_web_stack.testing.waiting import wait_until
from tests.component.containers.test_systemd import NotifyListener, install_socket_activate
from tests.e2e.nginx import Nginx, free_port, install_nginx, render_site

pytestmark = pytest.mark.slow

ROOTED = ("/srv/mysite", "/etc/mysite", "/var/lib/mysite", "/var/log/mysite", "/run/mysite", "/usr/local/bin")
ORIGIN_URL = "https://example.com/you/mysite.git"


@dataclass
class FakeRoot:
    root: Path
    origin: Path

    def localize(self, text: str) -> str:
        for prefix in ROOTED:
            text = re.sub(rf"(?<!\w){re.escape(prefix)}\b", f"{self.root}{prefix}", text)
        return text.replace(ORIGIN_URL, str(self.origin))

    @property
    def app(self) -> Path:
        return self.root / "srv" / "mysite"

    def env(self, **extra: str) -> dict[str, str]:
        path = f"{self.root}/usr/local/bin{os.pathsep}{os.environ['PATH']}"
        return {**os.environ, "PATH": path, **extra}

    def stand_in(self, line: str) -> str | None:
        """The command to run for the doc's `line`, or None for one with nothing to do here."""
        line = self.localize(line)
        line = re.sub(r"\bsudo (-u mysite )?", "", line)  # the test's own user is `mysite`
        if line.startswith("useradd "):
            return None
        line = re.sub(r" -o (mysite|root) -g mysite", "", line)  # chown needs root
        if m := re.fullmatch(r"python3 -m venv (\S+)", line):
            return f"ln -s {sys.prefix} {m[1]}"  # the venv running the tests: no network
        if "pip install " in line:
            # circus-web-stack is that venv's own (editable) install; the rest must already be there.
            return line.replace("pip install /path/to/circus-web-stack ", "pip install --no-index ")
        return line

    def run(self, line: str, **extra_env: str) -> subprocess.CompletedProcess:
        command = self.stand_in(line)
        if command is None:
            return subprocess.CompletedProcess(line, 0, "", "")
        done = subprocess.run(
            ["sh", "-eu", "-c", command],
            cwd=self.root,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{line}\n-> {command}\n{done.stdout}\n{done.stderr}"
        return done

    def run_recipe(self, name: str) -> list[subprocess.CompletedProcess]:
        return [self.run(c.line) for c in recipe(name).commands()]


def unit_entries(unit: Recipe) -> dict[str, list[str]]:
    """A systemd unit's `Key=value` lines (a key may repeat, as After= does)."""
    entries: dict[str, list[str]] = {}
    for line in unit.text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def origin_repository(path: Path) -> Path:
    """The project's git remote: the Django example as a repository of its own."""
    shutil.copytree(
        REPO / "examples" / "django",
        path,
        ignore=shutil.ignore_patterns("db.sqlite3*", "staticfiles", ".secret_key", "__pycache__"),
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(path)]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "mysite"]):
        subprocess.run([*git, *args], check=True, capture_output=True, timeout=30)
    return path


@dataclass
class Service:
    """mysite.service started as systemd would, with mysite.socket's socket."""

    proc: subprocess.Popen
    port: int
    journal: Path
    notify: NotifyListener

    @property
    def main_pid(self) -> int:
        return self.proc.pid  # systemd-socket-activate execs the unit's command, as systemd's MAINPID


def start_service(fake: FakeRoot, tool: str, tmp: Path) -> Service:
    socket_unit = unit_entries(recipe("deploy-socket-unit"))
    service = unit_entries(recipe("deploy-service-unit"))
    assert socket_unit["ListenStream"] == ["127.0.0.1:8000"] and socket_unit["FileDescriptorName"] == ["web"]
    assert service["Type"] == ["notify"] and service["KillMode"] == ["mixed"]
    runtime = fake.root / "run" / service["RuntimeDirectory"][0]
    runtime.mkdir(mode=int(service["RuntimeDirectoryMode"][0], 8))
    env: dict[str, str] = {"PATH": os.environ["PATH"]}
    env_file = Path(fake.localize(service["EnvironmentFile"][0]))
    env.update(
        line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#"
    )
    env.update(fake.localize(value).split("=", 1) for value in service["Environment"])
    notify = NotifyListener(tmp / "notify.sock")
    port = free_port()
    journal = tmp / "journal.log"
    argv = [
        tool,
        f"--listen=127.0.0.1:{port}",
        f"--fdname={socket_unit['FileDescriptorName'][0]}",
        *(f"--setenv={key}={value}" for key, value in env.items()),
        f"--setenv=NOTIFY_SOCKET={notify.path}",
        *shlex.split(fake.localize(service["ExecStart"][0])),
    ]
    proc = subprocess.Popen(
        argv,
        cwd=fake.localize(service["WorkingDirectory"][0]),
        stdout=open(journal, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # systemd-socket-activate starts circusd at the first connection, as socket activation does.
    wait_until(lambda: _connect(port), 10, f"systemd-socket-activate on port {port}")
    return Service(proc, port, journal, notify)


def _connect(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
    """A GET with the site's Host (the Browser helper sends 127.0.0.1:port, which ALLOWED_HOSTS refuses)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": "example.com", **headers})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read().decode()
    finally:
        conn.close()


def stop_service(service: Service) -> list[int]:
    """systemctl stop with KillMode=mixed: SIGTERM to circusd alone; returns pids left behind."""
    procs: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        procs = psutil.Process(service.proc.pid).children(recursive=True)
    if service.proc.poll() is None:
        service.proc.send_signal(signal.SIGTERM)
        try:
            service.proc.wait(45)  # TimeoutStopSec
        except subprocess.TimeoutExpired:
            service.proc.kill()
            service.proc.wait(10)
    left = [p.pid for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    service.notify.close()
    return left


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    tool, why = install_socket_activate()
    if tool is None:
        pytest.skip(f"systemd-socket-activate stands in for mysite.socket: {why}")
    nginx_binary, why = install_nginx()
    if nginx_binary is None:
        pytest.skip(f"nginx is needed for the deploy guide: {why}")
    tmp = tmp_path_factory.mktemp("deploy")
    fake = FakeRoot(tmp / "root", origin_repository(tmp / "origin"))
    for prefix in ROOTED:  # what a host has; the doc makes the rest
        Path(fake.localize(prefix)).parent.mkdir(parents=True, exist_ok=True)
    Path(fake.localize("/usr/local/bin")).mkdir()
    # 1. Layout and user
    fake.run_recipe("deploy-install")
    # 2. Settings: the file, a secret key from the doc's command, then the doc's variables in it.
    _, secret = fake.run_recipe("deploy-env-file")
    key = secret.stdout.strip()
    env_text = recipe("deploy-env").text.replace("change-me-to-50-random-characters", key)
    Path(fake.localize("/etc/mysite/env")).write_text(fake.localize(env_text))
    # 3. circus.ini, 4. the units, the wrapper and manage.py
    (fake.app / "circus.ini").write_text(fake.localize(recipe("deploy-circus-ini").text))
    wrapper = Path(fake.localize("/usr/local/bin/mysitectl"))
    wrapper_lines = recipe("deploy-mysitectl").text.splitlines()
    assert wrapper_lines[0] == "# /usr/local/bin/mysitectl" and wrapper_lines[1] == "#!/bin/sh"
    wrapper.write_text("\n".join([wrapper_lines[1], *map(fake.stand_in, wrapper_lines[2:])]) + "\n")
    wrapper.chmod(0o755)
    fake.run_recipe("deploy-manage")  # migrate, before the first start
    fake.run(fake.localize("/srv/mysite/.venv/bin/python /srv/mysite/manage.py collectstatic --noinput"))
    service = start_service(fake, tool, tmp)
    nginx = Nginx(nginx_binary, tmp / "nginx")
    try:
        service.notify.wait_for("READY", timeout=60)
        nginx.start_site(
            lambda port: render_site(
                (fake.app / "nginx.conf").read_text(),
                port=port,
                static_root=Path(fake.localize("/srv/mysite/staticfiles")),
                upstream_tcp=f"127.0.0.1:{service.port}",
            )
        )
        yield fake, service, nginx
    finally:
        nginx.stop()
        assert stop_service(service) == [], "processes left behind"


def test_check_deploy_is_clean_with_the_documented_settings(deployed):
    fake, _, _ = deployed
    (check,) = fake.run_recipe("deploy-check")
    assert "System check identified no issues" in check.stdout + check.stderr


def test_the_service_starts_notifies_and_serves_through_nginx(deployed):
    fake, service, nginx = deployed
    ready = service.notify.wait_for("READY")
    assert "process(es) ready" in service.notify.messages[ready]["STATUS"]
    journal = service.journal.read_text()
    assert re.search(rf"adopted socket web on 127\.0\.0\.1:{service.port} \(fd 3\) from systemd", journal)
    assert not list((fake.root / "srv" / "mysite").glob("*.sock"))
    # nginx speaks plain HTTP here: the redirect to HTTPS is what a browser gets on port 80.
    status, headers, _ = get(nginx.port, "/")
    assert status == 301 and headers["location"] == "https://example.com/"
    # Over HTTPS (as nginx with a certificate would pass it on): the page, with Secure cookies.
    status, headers, body = get(service.port, "/", **{"X-Forwarded-Proto": "https"})
    assert status == 200, body[:500]
    assert "Secure" in headers["set-cookie"] and "max-age=3600" in headers["strict-transport-security"]
    status, _, body = get(nginx.port, "/static/notes/style.css")
    assert status == 200 and body == (fake.app / "notes" / "static" / "notes" / "style.css").read_text()
    for name in ("web.log", "web.error.log", "worker.log", "worker.error.log"):
        assert (Path(fake.localize("/var/log/mysite")) / name).exists(), name


def test_the_control_recipes_say_what_they_do(deployed):
    fake, service, _ = deployed
    status, stats, incr, top = recipe("deploy-control").commands()
    assert status.claim == "circusd-stats, web, worker: active"
    done = fake.run(status.line)
    assert done.stdout == "circusd-stats: active\nweb: active\nworker: active\n"
    pids = fake.run("mysitectl list web").stdout.strip().split(",")
    shown = fake.run(stats.line).stdout  # CPU and memory per worker
    assert all(pid in shown for pid in pids), shown
    fake.run(incr.line)
    wait_until(lambda: len(fake.run("mysitectl list web").stdout.split(",")) == 5, 30, "a fifth worker")
    fake.run("mysitectl decr web --waiting")
    assert "circus-top" in top.line and fake.localize("ipc:///run/mysite/stats.sock") in fake.localize(
        top.line
    )
    assert Path(fake.localize("/run/mysite/stats.sock")).is_socket()
    unit = unit_entries(recipe("deploy-service-unit"))
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    fake.run(unit["ExecReload"][0], MAINPID=str(service.main_pid))
    service.notify.wait_for("RELOADING", timeout=30)


def test_the_deploy_script_pulls_migrates_and_reloads_with_no_downtime(deployed):
    fake, _, nginx = deployed
    subprocess.run(
        ["git", "-C", str(fake.origin), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
         "--allow-empty", "-m", "release 2"],
        check=True,
        timeout=30,
    )  # fmt: skip
    before = set(fake.run("mysitectl list web").stdout.strip().split(","))
    script = recipe("deploy-script").text
    lines = script.splitlines()
    assert lines[:2] == ["#!/bin/sh", "# /usr/local/bin/mysite-deploy"]
    body = [fake.stand_in(line) or "" for line in lines[2:]]
    body = [line.replace("http://127.0.0.1/", f"http://127.0.0.1:{nginx.port}/") for line in body]
    path = Path(fake.localize("/usr/local/bin/mysite-deploy"))
    path.write_text("\n".join([lines[0], *body]) + "\n")
    path.chmod(0o755)
    done = subprocess.run([str(path)], env=fake.env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"status": "ok"' in done.stdout  # curl -fsS .../healthz, through nginx over plain HTTP
    log = subprocess.run(["git", "-C", str(fake.app), "log", "--oneline"], capture_output=True, text=True)
    assert "release 2" in log.stdout
    after = set(fake.run("mysitectl list web").stdout.strip().split(","))
    assert after and not after & before, "every web worker replaced"


def test_the_unix_socket_variant(deployed, tmp_path):
    """[socket:web] with path and umask 007 gives srwxrwx--- (the doc's claim), and the nginx line is
    the one nginx.conf's upstream block carries, commented, for it."""
    fake, _, _ = deployed
    ini = fake.localize(recipe("deploy-unix-ini").text)
    sock_path = Path(re.search(r"path = (\S+)", ini)[1])
    short = Path("/tmp") / f"cws-{os.getpid()}-web.sock"  # unix paths are short; the fake root is deep
    ini = ini.replace(str(sock_path), str(short)) + "[watcher:web]\ncmd = sleep 1000\nuse_sockets = true\n"
    from circus_web_stack.testing.harness import Daemon

    with Daemon(tmp_path, ini) as daemon:
        daemon.wait_children(1)
        assert oct(short.stat().st_mode & 0o777) == "0o770"
    assert not short.exists()
    (line,) = [c.line for c in recipe("deploy-unix-nginx").commands()]
    assert f"# {line}" in (REPO / "examples" / "django" / "nginx.conf").read_text()


def test_logrotate_rotates_and_the_workers_write_a_new_file(deployed):
    fake, _, _ = deployed
    binary, why = ensure_installed(["logrotate"], lambda: shutil.which("logrotate"))
    if binary is None:
        pytest.skip(f"logrotate is needed to check the doc's file: {why}")
    me = f"{os.getuid()} {os.getgid()}"
    conf = fake.localize(recipe("deploy-logrotate").text).replace("su mysite mysite", f"su {me}")
    conf_path = fake.root / "logrotate.conf"
    conf_path.write_text(conf)
    conf_path.chmod(0o644)
    state = fake.root / "logrotate.state"
    logs = Path(fake.localize("/var/log/mysite"))
    errors = logs / "web.error.log"
    # Django logs a 404 at WARNING on the worker's stderr: a line for the file to rotate.
    get(deployed[1].port, "/no-such-page/", **{"X-Forwarded-Proto": "https"})
    wait_until(lambda: "no-such-page" in errors.read_text(), 15, "the 404 in web.error.log")
    done = subprocess.run(
        [binary, "--force", "--state", str(state), str(conf_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "no-such-page" in (logs / "web.error.log.1").read_text() and not errors.exists()
    # The WatchedFileStream notices the move and writes the next line to a new web.error.log.
    get(deployed[1].port, "/after-rotation/", **{"X-Forwarded-Proto": "https"})
    wait_until(lambda: errors.exists() and "after-rotation" in errors.read_text(), 15, "a new web.error.log")


def test_systemctl_and_nginx_recipes_are_the_steps_this_test_stands_in_for(deployed):
    """What this module does in their place: each line must be one it knows."""
    systemctl = [c.line for c in recipe("deploy-systemctl").commands()]
    assert systemctl == [
        "sudo systemctl daemon-reload",  # reading the units: unit_entries()
        "sudo systemctl enable --now mysite.socket mysite",  # start_service()
        "journalctl -u mysite -f",  # circusd's stdout: Service.journal
    ]
    nginx = [c.line for c in recipe("deploy-nginx").commands()]
    assert nginx[0] == "sudo apt-get install nginx"  # install_nginx()
    assert any("nginx.conf" in line and line.startswith("sudo cp ") for line in nginx)  # render_site()
    assert nginx[-1] == "sudo nginx -t && sudo systemctl reload nginx"  # Nginx.start_site()
