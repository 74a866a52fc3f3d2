"""Default runtime directory and endpoints: the same answer for circusd and its clients."""

from __future__ import annotations

import pytest

from circus_web_stack.protocol.endpoints import (
    default_endpoints,
    default_runtime_dir,
    endpoint_problem,
    ipc_path,
)


@pytest.mark.parametrize(
    ("env", "uid", "expected"),
    [
        ({"CIRCUS_RUNTIME_DIR": "/srv/c", "XDG_RUNTIME_DIR": "/run/user/1000"}, 1000, "/srv/c"),
        ({"XDG_RUNTIME_DIR": "/run/user/1000/"}, 1000, "/run/user/1000/circus-web-stack"),
        ({"XDG_RUNTIME_DIR": ""}, 0, "/run/circus-web-stack"),
        ({}, 0, "/run/circus-web-stack"),
        ({}, 1000, "/tmp/circus-web-stack-1000"),
    ],
)
def test_default_runtime_dir(env, uid, expected):
    assert default_runtime_dir(env, uid) == expected


def test_default_endpoints():
    assert default_endpoints("/run/circus-web-stack/") == {
        "control": "ipc:///run/circus-web-stack/control.sock",
        "pubsub": "ipc:///run/circus-web-stack/pubsub.sock",
        "stats": "ipc:///run/circus-web-stack/stats.sock",
    }


def test_ipc_path_and_problems():
    assert ipc_path("ipc:///tmp/x.sock") == "/tmp/x.sock"
    assert ipc_path("tcp://127.0.0.1:5555") is None
    assert endpoint_problem("tcp://127.0.0.1:5555") is None
    assert endpoint_problem("ipc:///tmp/x.sock") is None
    assert "not a ZeroMQ endpoint" in endpoint_problem("127.0.0.1:5555")
    assert "not a ZeroMQ endpoint" in endpoint_problem("udp://1.2.3.4:5")
    assert "107" in endpoint_problem("ipc:///" + "d" * 120 + "/control.sock")
