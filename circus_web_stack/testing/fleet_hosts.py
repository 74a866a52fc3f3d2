"""A fleet for tests and benchmarks: a real circusd on each of several network-namespace hosts
(testing/netns.py), bound to the host's own IPv6 address with CurveZMQ over TCP, each running the
watcher `web` (chaussette on a socket of its host, serving the node's `app.py`), and the fleet file
that reaches them from the test's side of the bridge.

Rule: everything started is stopped on close (daemons first, by the pids started, then the
namespaces), and the leftovers of each daemon are returned for the test to assert on.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from circus_web_stack.testing.curve import CurveFiles, make_curve_files
from circus_web_stack.testing.harness import Daemon, Launcher
from circus_web_stack.testing.netns import Host, Network

CONTROL_PORT, PUBSUB_PORT, STATS_PORT, HTTP_PORT = 5555, 5556, 5557, 8080
# The release a node runs: its generation is the file's, read once at import like real code.
APP = """
import os, time
time.sleep(0.2)  # an app that takes a moment to import, as real ones do
GENERATION = {generation!r}
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"generation {{GENERATION}} pid {{os.getpid()}}".encode()]
"""
BROKEN_APP = "raise RuntimeError('release {generation} is broken')\n"


@dataclass
class FleetHost:
    name: str
    host: Host
    daemon: Daemon
    curve: CurveFiles
    workdir: Path

    @property
    def url(self) -> str:
        return f"http://[{self.host.address}]:{HTTP_PORT}/"

    def deploy(self, generation: str, *, broken: bool = False) -> None:
        """Put a new release's code in place (the next reload starts it)."""
        (self.workdir / "app.py").write_text((BROKEN_APP if broken else APP).format(generation=generation))


class HostFleet:
    """`count` hosts `node1`..`nodeN`, tagged env=test and role=web (the last one role=worker)."""

    def __init__(
        self,
        workdir: Path,
        count: int,
        *,
        statsd: bool = False,
        multicast: str | None = None,
        web: bool = True,
        shared_keys: bool = False,
    ) -> None:
        """`shared_keys`: one key pair for every daemon (as a fleet whose keys a config tool hands
        out), so that a [fleet] section's keys reach discovered nodes too."""
        self.workdir = workdir
        self.network = Network(count)
        self.statsd = statsd
        self.multicast = multicast
        self.web = web
        self.nodes: list[FleetHost] = []
        self._shared_keys = shared_keys
        self.keys: CurveFiles | None = None

    def open(self) -> HostFleet:
        self.network.open()
        try:
            if self._shared_keys:
                (self.workdir / "shared").mkdir()
                self.keys = make_curve_files(self.workdir / "shared")
            for n, host in enumerate(self.network.hosts, 1):
                self.nodes.append(self._start(f"node{n}", host))
            for node in self.nodes:
                node.daemon.wait_log(r"circusd running", 30)
                node.daemon.wait_log(r"control endpoint on ", 30)
        except BaseException:
            self.close()
            raise
        return self

    def _start(self, name: str, host: Host) -> FleetHost:
        workdir = self.workdir / name
        workdir.mkdir()
        curve = self.keys or make_curve_files(workdir)
        lines = [
            "[circus]",
            f"endpoint = {host.tcp(CONTROL_PORT)}",
            f"pubsub_endpoint = {host.tcp(PUBSUB_PORT)}",
            f"curve_secret_key_file = {curve.server_secret}",
            f"curve_client_keys_dir = {curve.allowed}",
            f"fqdn_prefix = {name}",
        ]
        if self.statsd:  # (a stats_endpoint alone would imply statsd = true)
            lines += [f"stats_endpoint = {host.tcp(STATS_PORT)}", "statsd = true", "stats_interval = 0.5"]
        if self.multicast:
            lines.append(f"multicast_endpoint = {self.multicast}")
        if self.web:
            lines += [
                "[socket:web]",
                f"host = {host.address}",
                f"port = {HTTP_PORT}",
                "family = AF_INET6",
                "[watcher:web]",
                f"cmd = {sys.executable} -m chaussette_compat --fd $(circus.sockets.web) --no-access-log "
                "app:application",
                f"working_dir = {workdir}",
                "use_sockets = true",
                "numprocesses = 1",
                "graceful_timeout = 5",
                "ready_timeout = 10",
            ]
        daemon = Daemon(workdir, "\n".join(lines) + "\n", launcher=Launcher(host.argv()))
        node = FleetHost(name, host, daemon, curve, workdir)
        node.deploy("1")
        daemon.start()
        return node

    def fleet_text(self, *, health: bool = False, extra: str = "") -> str:
        sections = [extra] if extra else []
        for i, node in enumerate(self.nodes):
            role = "worker" if i == len(self.nodes) - 1 and len(self.nodes) > 1 else "web"
            sections.append(
                "\n".join(
                    [
                        f"[node:{node.name}]",
                        f"endpoint = {node.host.tcp(CONTROL_PORT)}",
                        f"curve_server_key = {node.curve.server_public}",
                        f"curve_client_key = {node.curve.client_secret}",
                        "env = test",
                        f"role = {role}",
                        *([f"health_url = {node.url}", "health_timeout = 10"] if health else []),
                    ]
                )
            )
        return "\n\n".join(sections) + "\n"

    def write_fleet_file(self, path: Path, *, health: bool = False, extra: str = "") -> Path:
        path.write_text(self.fleet_text(health=health, extra=extra))
        return path

    def close(self) -> dict[str, list[int]]:
        leftovers = {}
        try:
            for node in self.nodes:
                leftovers[node.name] = node.daemon.close()
        finally:
            self.network.close()
        return leftovers

    def __enter__(self) -> HostFleet:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
