"""Bad input never hurts the daemon: every kind of garbage gets an error reply where one is possible,
and afterwards the daemon still answers `list` and `status` correctly."""

from __future__ import annotations

import json
import uuid

import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
COMMAND_NAMES = st.sampled_from(
    [
        "list",
        "status",
        "stats",
        "incr",
        "decr",
        "get",
        "set",
        "signal",
        "kill",
        "options",
        "add",
        "rm",
        "numprocesses",
        "nosuch",
        "LIST",
        "",
    ]
)
MESSAGES = st.one_of(
    st.binary(max_size=200),  # garbage, invalid UTF-8
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),  # valid JSON, mostly not an object
    st.fixed_dictionaries(  # plausible commands with wrong or missing fields
        {"id": JSON_VALUES, "command": COMMAND_NAMES | JSON_VALUES, "properties": JSON_VALUES}
    ).map(lambda m: json.dumps(m).encode()),
    st.fixed_dictionaries(
        {
            "command": COMMAND_NAMES,
            "properties": st.fixed_dictionaries(
                {},
                optional={
                    "name": st.sampled_from(["web", "nope", "*", "w[", ""]) | JSON_VALUES,
                    "nb": JSON_VALUES,
                    "keys": JSON_VALUES,
                    "options": JSON_VALUES,
                    "signum": JSON_VALUES,
                    "pid": JSON_VALUES,
                    "waiting": JSON_VALUES,
                },
            ),
        }
    ).map(lambda m: json.dumps(m).encode()),
)
# Destructive commands that a fuzzer may legitimately send with valid arguments (stop, rm, quit...)
# are left out: the point is that malformed input does no harm, not that valid input does none.
SAFE = {"list", "status", "stats", "get", "options", "numprocesses", "nosuch", "LIST", ""}


def is_safe(body: bytes) -> bool:
    try:
        message = json.loads(body)
    except ValueError:
        return True
    if not isinstance(message, dict):
        return True
    command = message.get("command")
    return not isinstance(command, str) or command.lower() in SAFE or command not in COMMAND_NAMES.elements


def test_thousands_of_malformed_messages(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
    """)
    d.wait_children(2)
    d.wait_log("control endpoint on ")
    ctx = zmq.Context.instance()
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.identity = uuid.uuid4().hex.encode()
    dealer.connect(d.endpoint)
    sent = {"n": 0}

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=MESSAGES, extra_frames=st.integers(0, 2))
    def throw(body, extra_frames):
        if not is_safe(body):
            return
        dealer.send_multipart([body] + [b"x"] * extra_frames)
        sent["n"] += 1

    throw()
    # A REQ client (three frames with the empty delimiter) is answered too; Circus drops it.
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.connect(d.endpoint)
    req.send(json.dumps({"id": "r", "command": "list", "properties": {}}).encode())
    assert req.poll(10000), "no reply to a REQ client"
    assert json.loads(req.recv())["watchers"] == ["web"]
    # One frame over the size cap gets an error naming the limit.
    dealer.send(b'{"command": "list", "pad": "' + b"x" * (2 << 20) + b'"}')
    replies = 0
    too_big = None
    while dealer.poll(2000):
        reply = json.loads(dealer.recv_multipart()[-1])
        replies += 1
        # `status NAME` replies with the watcher's state in "status" (Circus's wart, kept).
        assert reply["status"] in ("ok", "error", "active", "stopped", "starting", "stopping")
        if "byte limit" in reply.get("reason", ""):
            too_big = reply
    assert too_big is not None and too_big["errno"] == 3
    assert replies >= sent["n"] * 0.9, (replies, sent["n"])
    assert d.call("list")["watchers"] == ["web"]
    assert d.call("status")["statuses"] == {"web": "active"}
    assert len(d.call("list", name="web")["pids"]) == 2
    assert "Traceback" not in d.log()
    dealer.close()
    req.close()
