"""A fleet on real separate hosts: three network namespaces on the test's own bridge (fd00::/8, no
default route), a real circusd in each bound to its own address with CurveZMQ over TCP, driven from
the host side by `circusctl --fleet` and the Python client: fan-out, selection, multicast discovery,
a batch rollout in which one node's new release fails to start, and a node killed mid-command.

The tests share one fleet and run in order; the last one kills a daemon.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from circus_web_stack.client.fleet import FleetClient
from circus_web_stack.client.fleet_discovery import discover
from circus_web_stack.client.fleet_file import Discovery, read_fleet_file
from circus_web_stack.testing.fleet_hosts import CONTROL_PORT, HostFleet
from circus_web_stack.testing.netns import netns_refusal
from circus_web_stack.testing.recipes import recipe
from circus_web_stack.testing.waiting import wait_until

pytestmark = pytest.mark.slow
GROUP = "udp://[ff02::1:c1c5]:12027"


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    refusal = netns_refusal()
    if refusal:
        pytest.skip(refusal)
    fleet = HostFleet(tmp_path_factory.mktemp("fleet"), 3, multicast=GROUP, shared_keys=True).open()
    try:
        yield fleet
    finally:
        leftovers = fleet.close()
    # node3's circusd is killed on purpose (its worker is then a leftover); the others stop cleanly
    assert leftovers["node1"] == [] and leftovers["node2"] == [], leftovers


@pytest.fixture(scope="module")
def fleet_file(hosts) -> Path:
    return hosts.write_fleet_file(hosts.workdir / "fleet.ini", health=True)


def circusctl(fleet_file: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "circus_web_stack.cli.circusctl", "--fleet", str(fleet_file), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def served(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_status_goes_to_every_node_and_prints_a_node_column(fleet_file):
    done = circusctl(fleet_file, "--all", "status")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NODE", "WATCHER", "STATUS"]
    assert [line.split() for line in lines[1:]] == [[f"node{n}", "web", "active"] for n in (1, 2, 3)]


def test_list_and_listsockets_aggregate(fleet_file, hosts):
    listed = circusctl(fleet_file, "--all", "list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split() for line in listed.stdout.splitlines()[1:]] == [
        [f"node{n}", "web"] for n in (1, 2, 3)
    ]
    sockets = circusctl(fleet_file, "--all", "listsockets")
    rows = [line.split() for line in sockets.stdout.splitlines()[1:]]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        (node.name, "web", f"{node.host.address}:8080") for node in hosts.nodes
    ]


def test_nodes_are_chosen_by_name_glob_and_tag(fleet_file):
    by_tag = circusctl(fleet_file, "--tag", "role=worker", "list")
    assert [line.split()[0] for line in by_tag.stdout.splitlines()[1:]] == ["node3"]
    by_glob = circusctl(fleet_file, "--node", "node[12]", "--tag", "env=test", "list")
    assert [line.split()[0] for line in by_glob.stdout.splitlines()[1:]] == ["node1", "node2"]
    typo = circusctl(fleet_file, "--node", "nod2", "list")
    assert typo.returncode == 2
    assert "no node 'nod2' (did you mean 'node2'?)" in typo.stderr
    unchosen = circusctl(fleet_file, "list")
    assert unchosen.returncode == 2 and "--all" in unchosen.stderr


def test_the_python_client_aggregates_too(fleet_file):
    with FleetClient(read_fleet_file(str(fleet_file))) as client:
        assert client.status() == {f"node{n}": {"web": "active"} for n in (1, 2, 3)}
        assert client.list("web").keys() == {"node1", "node2", "node3"}
        assert all(len(pids) == 1 for pids in client.list("web").values())
        assert {name: [s["name"] for s in socks] for name, socks in client.listsockets().items()} == {
            f"node{n}": ["web"] for n in (1, 2, 3)
        }


def test_multicast_discovery_finds_every_daemon(hosts, tmp_path):
    found = discover(Discovery(GROUP, hosts.network.bridge, timeout_s=1.0))
    assert sorted((f.name, f.endpoint) for f in found) == [
        (node.name, node.host.tcp(5555)) for node in hosts.nodes
    ]
    keys = hosts.keys
    assert keys is not None
    discovered = tmp_path / "lan.ini"
    discovered.write_text(
        f"[fleet]\ndiscover = {GROUP}\ndiscover_interface = {hosts.network.bridge}\n"
        f"curve_server_key = {keys.server_public}\ncurve_client_key = {keys.client_secret}\n"
    )
    done = circusctl(discovered, "--tag", "discovered=yes", "list")
    assert done.returncode == 0, done.stderr
    assert [line.split() for line in done.stdout.splitlines()[1:]] == [[f"node{n}", "web"] for n in (1, 2, 3)]


def test_a_rollout_stops_at_the_node_whose_release_fails(fleet_file, hosts):
    node1, node2, node3 = hosts.nodes
    before3 = served(node3.url)
    for node in (node1, node3):
        node.deploy("2")
    node2.deploy("2", broken=True)
    done = circusctl(fleet_file, "--all", "reload", "web", "--batch", "1", timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    progress = done.stderr
    assert "batch 1/3: reloading web on node1" in progress
    assert "node1: healthy" in progress
    assert "batch 2/3: reloading web on node2" in progress
    assert "node2 failed" in progress and "RuntimeError: release 2 is broken" in progress
    assert "not touched (old code): node3" in progress
    assert "batch 3/3" not in progress
    assert served(node1.url).startswith("generation 2 ")
    assert served(node2.url).startswith("generation 1 ")  # rolled back by its daemon
    assert served(node3.url) == before3  # the same process (its pid is in the text): never sent anything


def test_a_node_killed_mid_command_is_reported_and_the_others_answer(fleet_file, hosts):
    node3 = hosts.nodes[2]
    hosts.nodes[1].deploy("3")  # node2's broken release fixed
    started = time.monotonic()
    running = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "circus_web_stack.cli.circusctl",
            "--fleet",
            str(fleet_file),
            "--all",
            "--timeout",
            "4",
            "reload",
            "web",
            "--waiting",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        spawned = len(node3.daemon.spawned_pids())
        wait_until(lambda: len(node3.daemon.spawned_pids()) > spawned, 10, "node3's reload to begin")
        node3.daemon.proc.kill()  # circusd itself, by the pid we started (its workers: at close)
        out, err = running.communicate(timeout=30)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    elapsed = time.monotonic() - started
    assert running.returncode == 3, out + err
    rows = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()[1:] if line.strip()}
    assert rows["node1"] == "ok" and rows["node2"] == "ok"
    assert rows["node3"].startswith("SLOW")
    assert "node node3 slow: connected to " in err
    assert elapsed < 4 + 6  # the deadline, plus start-up: never waiting on the dead node
    down = circusctl(fleet_file, "--all", "--timeout", "1", "status")
    assert down.returncode == 3
    assert "node node3 down: could not connect to " in down.stderr
    assert [line.split()[:3] for line in down.stdout.splitlines()[1:]][-1] == ["node3", "DOWN"]


def test_the_documented_fleet_recipes_run_as_written(hosts, tmp_path):
    """docs/fleet.md's circusctl lines and Python client, run as written in a directory whose
    fleet.ini names two of the hosts as the doc does (web-1, web-2; role = web, env = prod)."""
    sections = []
    for i, node in enumerate(hosts.nodes[:2], 1):
        sections.append(
            f"[node:web-{i}]\nendpoint = {node.host.tcp(CONTROL_PORT)}\n"
            f"curve_server_key = {node.curve.server_public}\ncurve_client_key = {node.curve.client_secret}\n"
            f"role = web\nenv = prod\nhealth_url = {node.url}\nhealth_timeout = 10\n"
        )
    (tmp_path / "fleet.ini").write_text("\n".join(sections))
    for command in recipe("fleet-circusctl").commands():
        argv = shlex.split(command.line)
        assert argv[0] == "circusctl"
        done = subprocess.run(
            [sys.executable, "-m", "circus_web_stack.cli.circusctl", *argv[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (command.line, done.stdout, done.stderr)
        said = done.stdout + done.stderr  # a rollout's progress and report go to stderr
        assert "web-1" in said and "web-2" in said, (command.line, said)
    script = tmp_path / "client.py"
    script.write_text(recipe("fleet-python-client").text + "print(sorted(results))\n")
    ran = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "['web-1', 'web-2']"
