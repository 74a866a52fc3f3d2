"""Event topics and payloads: Circus's shapes, our additions, and a topic parser for dotted names."""

from __future__ import annotations

import json

import pytest

from circus_web_stack.protocol import pubsub
from circus_web_stack.protocol.pubsub import EventName


def test_topic_uses_circus_res_name():
    assert pubsub.event_topic("Web App", "spawn") == "watcher.web_app.spawn"
    assert pubsub.res_name("API Server") == "api_server"


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("watcher.web.spawn", ("web", "spawn")),
        ("watcher.api.v2.reap", ("api.v2", "reap")),
        ("watcher.plugin:flapping.start", ("plugin:flapping", "start")),
        (b"watcher.a.b.c.hook_failure", ("a.b.c", "hook_failure")),
    ],
)
def test_parse_topic_splits_on_first_and_last_dot(topic, expected):
    assert pubsub.parse_event_topic(topic) == expected


@pytest.mark.parametrize(
    "topic", ["stat.web.1", "watcher.spawn", "watcher..spawn", "watcher.web.", "watcher."]
)
def test_parse_topic_refuses_other_topics(topic):
    with pytest.raises(ValueError, match="not an event topic"):
        pubsub.parse_event_topic(topic)


def test_circus_payload_shapes():
    assert pubsub.spawn_payload(9101, 1.5) == {"process_pid": 9101, "time": 1.5}
    assert pubsub.kill_payload(8956, 2.0) == {"process_pid": 8956, "time": 2.0}
    assert pubsub.reap_payload(9102, 3.0, -15) == {"process_pid": 9102, "time": 3.0, "exit_code": -15}
    for builder in (pubsub.stop_payload, pubsub.start_payload, pubsub.add_payload, pubsub.remove_payload):
        assert builder(4.0) == {"time": 4.0}
    assert pubsub.reload_payload(5.0) == {"time": 5.0}
    assert pubsub.updated_payload(6.0) == {"time": 6.0}
    assert pubsub.hook_success_payload("before_start", 7.0) == {"name": "before_start", "time": 7.0}
    assert pubsub.hook_failure_payload("after_spawn", 8.0, "boom") == {
        "name": "after_spawn",
        "time": 8.0,
        "error": "boom",
    }


def test_our_optional_fields_are_added_only_when_given():
    assert pubsub.spawn_payload(1, 1.0, wid=3) == {"process_pid": 1, "time": 1.0, "wid": 3}
    assert pubsub.reap_payload(1, 1.0, 0, expected=True) == {
        "process_pid": 1,
        "time": 1.0,
        "exit_code": 0,
        "expected": True,
    }
    assert pubsub.reload_payload(1.0, old=2, new=2, ready=1) == {"time": 1.0, "old": 2, "new": 2, "ready": 1}
    assert pubsub.updated_payload(1.0, key="numprocesses") == {"time": 1.0, "key": "numprocesses"}


def test_exit_code_is_minus_signum_when_signalled():
    assert pubsub.exit_code_from_wait(None, 9) == -9
    assert pubsub.exit_code_from_wait(3, None) == 3
    with pytest.raises(ValueError):
        pubsub.exit_code_from_wait(None, None)


def test_flapping_payload():
    paused = pubsub.flapping_payload(1.0, attempts=3, window=1.0, retry_in=7.0, retries_left=4)
    assert paused == {
        "time": 1.0,
        "attempts": 3,
        "window": 1.0,
        "retry_in": 7.0,
        "retries_left": 4,
        "gave_up": False,
    }
    assert (
        pubsub.flapping_payload(1.0, attempts=3, window=1.0, retry_in=None, retries_left=0)["gave_up"] is True
    )


def test_encode_decode_round_trip_for_every_event():
    for name in EventName:
        frames = pubsub.encode_event("api.v2", name, {"time": 1.0})
        assert frames[0] == f"watcher.api.v2.{name}".encode()
        event = pubsub.decode_event(frames)
        assert (event.watcher, event.name, event.payload) == ("api.v2", name, {"time": 1.0})


@pytest.mark.parametrize(
    "frames",
    [[b"watcher.web.spawn"], [b"watcher.web.spawn", b"{nope"], [b"watcher.web.spawn", b"[1]"], [b"x", b"{}"]],
)
def test_decode_event_refuses_malformed(frames):
    with pytest.raises(ValueError):
        pubsub.decode_event(frames)


def test_payload_json_is_strict():
    with pytest.raises(ValueError):
        pubsub.encode_event("web", "spawn", {"time": float("nan")})
    assert json.loads(pubsub.encode_event("web", "spawn", pubsub.spawn_payload(1, 2.0))[1]) == {
        "process_pid": 1,
        "time": 2.0,
    }
