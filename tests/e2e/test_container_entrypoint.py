"""The container image's entry point, as far as this machine allows without a container runtime: the
command of docs/container/Dockerfile runs as PID 1 of a new PID namespace, in the image's working
directory (examples/django, which the Dockerfile copies to /app), and serves the example; its probes
answer, and SIGTERM (docker stop, the kubelet) ends it cleanly."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

from circus_web_stack.testing.harness import PID_NAMESPACE
from circus_web_stack.testing.waiting import wait_until
from tests.e2e.clients import Browser
from tests.e2e.examples import DJANGO_DIR, REPO, adapt_ini

DOCKERFILE = REPO / "docs" / "container" / "Dockerfile"


def image_command(dockerfile: Path) -> tuple[str, list[str]]:
    """(WORKDIR of the final stage, ENTRYPOINT + CMD) as docker would run them (exec form only)."""
    workdir, entrypoint, cmd = "/", [], []
    for line in dockerfile.read_text().splitlines():
        word, _, rest = line.partition(" ")
        if word == "WORKDIR":
            workdir = rest.strip()
        elif word == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif word == "CMD":
            cmd = json.loads(rest)
    return workdir, entrypoint + cmd


def test_the_image_command_serves_the_example_as_pid1(circusd, tmp_path, django_state, pid_namespace):
    workdir, command = image_command(DOCKERFILE)
    assert workdir == "/app" and "COPY examples/django ./" in DOCKERFILE.read_text()
    assert command[0] == "circusd", "the harness runs circusd's console script as python -m"
    ini = adapt_ini(
        DJANGO_DIR / command[1],
        working_dir=DJANGO_DIR,
        logs_dir=tmp_path / "logs",
        env=django_state.env,  # the database the initContainer migrated
        # Loopback instead of the pod's every interface: this test's traffic stays on this host.
        overrides={"socket:web": {"host": "127.0.0.1"}, "circus": {"health_endpoint": "127.0.0.1:0"}},
    )
    (tmp_path / "logs").mkdir()
    d = circusd(ini, launcher=PID_NAMESPACE, extra_args=tuple(command[2:]))
    d.wait_log(r"reaping orphans as PID 1", 20)
    port = int(d.wait_log(r"bound socket web on 127\.0\.0\.1:(\d+)", 20)[1])
    health = int(d.wait_log(r"health probes on http://127\.0\.0\.1:(\d+)/livez", 20)[1])
    probes = Browser("127.0.0.1", health, keepalive=False)
    wait_until(lambda: probes.get("/readyz").status == 200, 60, f"/readyz 200; log:\n{d.log()[-2000:]}")
    assert probes.get("/livez").status == 200
    site = Browser("127.0.0.1", port)
    page = site.get("/")
    assert page.status == 200 and 'name="csrfmiddlewaretoken"' in page.body
    assert site.get("/static/notes/style.css").status == 200  # served by the app: no nginx in the pod
    assert re.search(r"web started with 2 process", d.log())
    d.signal(signal.SIGTERM)
    assert d.wait_exit(60) == 0
    assert "circusd stopped" in d.log()
