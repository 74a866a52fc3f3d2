"""The socket edges in-process: opening listeners (TCP_NODELAY, fd adoption, backlog) and sd_notify."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chaussette_compat.listener import ListenerError, describe_bound, open_listener
from chaussette_compat.notify import sd_notify
from chaussette_compat.options import ListenSpec


def _nodelay(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_bound_tcp_listener_has_nodelay_and_accepted_sockets_inherit_it():
    listener = open_listener(ListenSpec(host="127.0.0.1", port=0))
    try:
        assert _nodelay(listener)
        with socket.create_connection(listener.getsockname()) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert _nodelay(accepted)
            assert client
    finally:
        listener.close()


def test_adopted_fd_gets_nodelay_and_an_optional_new_backlog():
    parent = socket.socket()
    parent.bind(("127.0.0.1", 0))
    parent.listen(5)
    adopted = open_listener(ListenSpec(fd=parent.detach(), backlog=64))
    try:
        assert _nodelay(adopted)
        assert describe_bound(adopted, ListenSpec(fd=adopted.fileno())).endswith(f"(fd://{adopted.fileno()})")
    finally:
        adopted.close()


def test_fd_that_is_not_listening_is_refused():
    unbound = socket.socket()
    try:
        with pytest.raises(ListenerError, match="not listening"):
            open_listener(ListenSpec(fd=unbound.fileno()))
    finally:
        unbound.close()


def test_datagram_fd_is_refused():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ListenerError, match="SOCK_STREAM socket is needed"):
            open_listener(ListenSpec(fd=udp.fileno()))
    finally:
        udp.close()


def test_unix_listener_replaces_a_stale_socket_but_not_a_regular_file(tmp_path: Path):
    stale = tmp_path / "stale.sock"
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(stale))
    leftover.close()
    listener = open_listener(ListenSpec(unix_path=str(stale), family=socket.AF_UNIX))
    listener.close()
    regular = tmp_path / "regular"
    regular.write_text("precious")
    with pytest.raises(ListenerError, match="cannot listen"):
        open_listener(ListenSpec(unix_path=str(regular), family=socket.AF_UNIX))
    assert regular.read_text() == "precious"


def test_sd_notify_sends_one_datagram_to_a_path_and_to_an_abstract_name(tmp_path: Path):
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.settimeout(5)
        assert sd_notify("READY=1", environ={"NOTIFY_SOCKET": str(path)})
        assert receiver.recv(64) == b"READY=1"
    name = f"chaussette-unit-{id(path)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        receiver.settimeout(5)
        assert sd_notify("STOPPING=1", environ={"NOTIFY_SOCKET": "@" + name})
        assert receiver.recv(64) == b"STOPPING=1"


def test_sd_notify_to_a_missing_socket_is_not_fatal(tmp_path: Path):
    assert not sd_notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")})
