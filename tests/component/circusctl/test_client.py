"""CircusClient and the event iterators over real ZeroMQ sockets: id matching, casts, timeouts that
say whether a connection was made, REQ framing, CURVE, and the event stream."""

from __future__ import annotations

import json
import threading

import pytest
import zmq

from circus_web_stack.client.daemon import (
    CallTimeout,
    CircusClient,
    ReplyError,
    default_endpoint,
    iter_events,
    load_curve_keys,
)
from circus_web_stack.protocol import pubsub
from tests.component.circusctl.conftest import canned_handlers
from tests.component.circusctl.responder import Responder


def test_call_returns_the_reply(responder):
    with CircusClient(responder.endpoint, timeout=5) as client:
        reply = client.call("status", name="web")
    assert reply["status"] == "active" and isinstance(reply["time"], float)
    assert reply["id"] == responder.requests[0].id


def test_replies_with_another_id_are_discarded(responder):
    responder.before_reply = json.dumps(
        {"status": "ok", "id": "stale", "time": 0.0, "numprocesses": 99}
    ).encode()
    with CircusClient(responder.endpoint) as client:
        assert client.call("incr", name="web")["numprocesses"] == 3


def test_call_ok_raises_on_error_reply(responder):
    with CircusClient(responder.endpoint) as client, pytest.raises(ReplyError) as exc:
        client.call_ok("status", name="nope")
    assert (exc.value.reason, exc.value.errno) == ("program nope not found", 3)
    assert str(exc.value) == "error: program nope not found"


def test_cast_is_not_answered(responder):
    with CircusClient(responder.endpoint) as client:
        client.cast("stop", name="web")
        assert client.call("list")["watchers"] == ["api.v2", "web"]
    sent = [json.loads(frames[-1]) for frames in responder.raw]
    assert sent[0]["msg_type"] == "cast" and sent[0]["command"] == "stop"
    assert [r.command for r in responder.requests] == ["stop", "list"]


def test_timeout_without_a_daemon_says_it_never_connected(short_dir):
    with (
        CircusClient(f"ipc://{short_dir}/absent.sock", timeout=0.2) as client,
        pytest.raises(CallTimeout) as exc,
    ):
        client.call("status")
    assert exc.value.connected is False and "could not connect" in str(exc.value)


def test_timeout_with_a_silent_daemon_says_no_reply(responder):
    responder.silent = True
    with CircusClient(responder.endpoint, timeout=0.2) as client, pytest.raises(CallTimeout) as exc:
        client.call("status")
    assert exc.value.connected is True and "no reply to status" in str(exc.value)


def test_req_clients_are_answered_with_req_framing(responder):
    with zmq.Context() as context, context.socket(zmq.REQ) as req:
        req.setsockopt(zmq.LINGER, 0)
        req.connect(responder.endpoint)
        req.send(json.dumps({"id": "r", "command": "status", "properties": {"name": "web"}}).encode())
        assert req.poll(5000)
        reply = json.loads(req.recv())
    assert (reply["status"], reply["id"]) == ("active", "r")
    assert responder.raw[0][1] == b""


def test_curve(short_dir):
    server_public, server_secret = zmq.curve_keypair()
    server = Responder(f"ipc://{short_dir}/curve.sock", canned_handlers(), curve_secret_key=server_secret)
    try:
        with CircusClient(server.endpoint, curve=load_curve_keys(server_public.decode())) as client:
            assert client.call("status", name="web")["status"] == "active"
        wrong_public, _ = zmq.curve_keypair()
        with CircusClient(server.endpoint, 0.3, curve=load_curve_keys(wrong_public.decode())) as client:
            with pytest.raises(CallTimeout) as exc:
                client.call("status")
            assert exc.value.connected is False
        with CircusClient(server.endpoint, 0.3) as plain, pytest.raises(CallTimeout):
            plain.call("status")
    finally:
        server.close()


def test_curve_keys_from_certificate_files(tmp_path):
    import zmq.auth

    server_public_file, _ = zmq.auth.create_certificates(str(tmp_path), "server")
    _, client_secret_file = zmq.auth.create_certificates(str(tmp_path), "client")
    keys = load_curve_keys(server_public_file, client_secret_file)
    assert keys.server_public == zmq.auth.load_certificate(server_public_file)[0]
    assert keys.client_secret == zmq.auth.load_certificate(client_secret_file)[1]
    with pytest.raises(ValueError, match="no secret key"):
        load_curve_keys(server_public_file, server_public_file)
    with pytest.raises(ValueError, match="Z85"):
        load_curve_keys("not-a-key")


def test_default_endpoint():
    assert default_endpoint({"CIRCUSCTL_ENDPOINT": "tcp://127.0.0.1:5555"}, 1000) == "tcp://127.0.0.1:5555"
    assert (
        default_endpoint({"XDG_RUNTIME_DIR": "/run/user/7"}, 7)
        == "ipc:///run/user/7/circus-web-stack/control.sock"
    )
    assert default_endpoint({}, 0) == "ipc:///run/circus-web-stack/control.sock"


def test_iter_events_decodes_and_skips_other_messages(short_dir):
    endpoint = f"ipc://{short_dir}/pubsub.sock"
    with zmq.Context() as context, context.socket(zmq.PUB) as pub:
        pub.setsockopt(zmq.LINGER, 0)
        pub.bind(endpoint)
        stop = threading.Event()

        def publish() -> None:
            # Until the subscriber is seen to receive: a SUB misses what precedes its subscription.
            while not stop.wait(0.02):
                pub.send_multipart([b"watcher.garbage", b"{"])
                pub.send_multipart(pubsub.encode_event("api.v2", "reap", pubsub.reap_payload(7, 1.0, -9)))

        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        try:
            event = next(iter_events(endpoint, timeout=5))
        finally:
            stop.set()
            publisher.join(timeout=5)
    assert (event.watcher, event.name, event.payload) == (
        "api.v2",
        "reap",
        {"process_pid": 7, "time": 1.0, "exit_code": -9},
    )


def test_iter_events_ends_at_its_timeout(short_dir):
    assert list(iter_events(f"ipc://{short_dir}/nothing.sock", timeout=0.1)) == []
