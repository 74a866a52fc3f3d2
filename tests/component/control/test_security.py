"""Secure by default: private ipc sockets, TCP beyond loopback only with CurveZMQ, and only known keys."""

from __future__ import annotations

import json
import os
import pwd
import socket
import stat
import subprocess
import sys

import pytest

from circus_web_stack.testing.curve import make_curve_files

PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def circusctl(*args: str, timeout: str = "3") -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-m", "circus_web_stack.cli.circusctl", "--timeout", timeout, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_default_endpoints_are_private_unix_sockets(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
    """)
    d.wait_children(1)
    d.wait_log("control endpoint on ")
    assert stat.S_IMODE(os.stat(d.runtime_dir).st_mode) == 0o700
    for name in ("control.sock", "pubsub.sock"):
        mode = os.stat(d.runtime_dir / name).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert d.call("globaloptions")["options"]["multicast_endpoint"] == ""


def test_network_endpoint_without_keys_is_refused(circusd):
    d = circusd(f"""
        [circus]
        endpoint = tcp://0.0.0.0:{free_port()}
        [watcher:web]
        cmd = sleep 1000
    """)
    assert d.wait_exit(20) == 78
    assert "curve_secret_key_file" in d.stderr() and "insecure" in d.stderr()
    assert d.children() == []


def test_curve_admits_only_known_client_keys(circusd, tmp_path):
    keys = make_curve_files(tmp_path)
    server_public, server_secret, allowed = keys.server_public, keys.server_secret, keys.allowed
    client_secret, stranger_secret = keys.client_secret, keys.stranger_secret
    control, pubsub = free_port(), free_port()
    d = circusd(f"""
        [circus]
        endpoint = tcp://127.0.0.1:{control}
        pubsub_endpoint = tcp://127.0.0.1:{pubsub}
        curve_secret_key_file = {server_secret}
        curve_client_keys_dir = {allowed}
        [watcher:web]
        cmd = sleep 1000
    """)
    d.wait_children(1)
    d.wait_log("control endpoint on ")
    endpoint = f"tcp://127.0.0.1:{control}"
    good = circusctl(
        "--endpoint",
        endpoint,
        "--curve-server-key",
        server_public,
        "--curve-client-key",
        client_secret,
        "list",
    )
    assert good.returncode == 0 and good.stdout.split() == ["web"], good.stderr
    stranger = circusctl(
        "--endpoint",
        endpoint,
        "--curve-server-key",
        server_public,
        "--curve-client-key",
        stranger_secret,
        "list",
    )
    assert stranger.returncode == 3
    plain = circusctl("--endpoint", endpoint, "list")
    assert plain.returncode == 3
    d.wait_log("refused a CURVE client")
    # One key in the directory: the log counts it apart from the daemon's own.
    assert (
        f"CurveZMQ: admitting 1 client key from {allowed} (curve_client_keys_dir), and the daemon's "
        "own key, which circusd-stats and circushttpd use"
    ) in d.log()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("curve_secret_key_file", "keys/missing.key_secret", "'keys/missing.key_secret': no such file ("),
        ("curve_client_keys_dir", "clients", "'clients': no such directory ("),
        ("curve_public_key_file", "keys/stranger.key", "keys/stranger.key is not the public half of"),
        ("curve_secret_key_file", "keys/server.key", "keys/server.key holds no secret key"),
    ],
)
def test_a_bad_key_file_is_refused_naming_the_option_and_the_path(circusd, tmp_path, option, value, message):
    """docs/security.md's files, each got wrong in turn: circusd exits 78 (config) and says which
    option, which file, and (when it comes from the ini) which line; not pyzmq's "Invalid certificate"."""
    workdir = tmp_path / "d"
    workdir.mkdir()
    make_curve_files(workdir)  # keys/server.key(_secret), keys/client.key_secret, allowed/client.key
    settings = {"curve_secret_key_file": "keys/server.key_secret", "curve_client_keys_dir": "allowed"}
    settings[option] = value
    lines = "\n".join(f"{key} = {text}" for key, text in settings.items())
    d = circusd(f"[circus]\nendpoint = tcp://127.0.0.1:{free_port()}\n{lines}\n", workdir=workdir)
    assert d.wait_exit(20) == 78
    # A missing file is refused at load, on stderr, with its line; a file that exists but holds the
    # wrong key is found at start, in the log, with the file and option (the model keeps no lines).
    said = d.stderr() + d.log()
    assert f"circus.ini{':' if 'no such' in message else ''}" in said, said
    assert f"[circus] {option}: " in said and message in said, said
    assert "Invalid certificate" not in said


@pytest.mark.skipif(os.geteuid() != 0, reason="handing a socket to another user needs root")
def test_endpoint_owner_owns_the_socket_and_added_watchers_run_as_it(circusd):
    nobody = pwd.getpwnam("nobody")
    d = circusd("""
        [circus]
        endpoint_owner = nobody
        [watcher:web]
        cmd = sleep 1000
    """)
    d.wait_children(1)
    d.wait_log("control endpoint on ")
    assert os.stat(d.runtime_dir / "control.sock").st_uid == nobody.pw_uid
    assert os.stat(d.runtime_dir).st_uid == nobody.pw_uid
    reply = d.call(
        "add", name="theirs", cmd="sleep 1001", options={"working_dir": "/"}, start=True, waiting=True
    )
    assert reply["status"] == "ok", reply
    (child,) = d.wait_children(1, "sleep 1001")
    assert child.uids().real == nobody.pw_uid
    refused = d.call("add", name="mine", cmd="sleep 1002", options={"uid": 0})
    assert refused["status"] == "error" and "endpoint owner" in refused["reason"]


def test_multicast_discovery_answers_only_when_configured(circusd):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    d = circusd(f"""
        [circus]
        multicast_endpoint = udp://237.219.251.97:{port}
        [watcher:web]
        cmd = sleep 1000
    """)
    d.wait_log("multicast discovery on ")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        client.sendto(b"where?", ("127.0.0.1", port))  # a direct query, on loopback only
        reply, _ = client.recvfrom(1024)
    # Circus's clients read "endpoint"; "name" (fqdn_prefix, else the host name) names a fleet's node.
    assert json.loads(reply) == {"endpoint": d.endpoint, "name": socket.gethostname()}
