"""Every golden request of tests/corpus/, replayed against a real daemon in the state the cases assume."""

from __future__ import annotations

import json
import uuid

import pytest
import zmq

from tests.corpus.loader import load_cases, reply_matches, request_frames

CASES = load_cases()


@pytest.fixture(scope="module")
def corpus_daemon(tmp_path_factory):
    from circus_web_stack.testing.harness import Daemon

    daemon = Daemon(
        tmp_path_factory.mktemp("corpus"),
        """
        [socket:web]
        host = 127.0.0.1
        port = 0
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
        [watcher:api.v2]
        cmd = sleep 1001
    """,
    ).start()
    try:
        daemon.wait_children(3)
        daemon.wait_log("control endpoint on ")
        yield daemon
    finally:
        leftovers = daemon.close()
        assert not leftovers


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case_against_the_daemon(corpus_daemon, case):
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.identity = uuid.uuid4().hex.encode()
    sock.connect(corpus_daemon.endpoint)
    try:
        # A DEALER sends what follows the identity; the ROUTER adds the identity back.
        sock.send_multipart(request_frames(case, sock.identity)[1:])
        if case["reply"] is None:
            assert not sock.poll(500), "a cast must get no reply"
            return
        assert sock.poll(10000), f"no reply to {case['name']}"
        frames = sock.recv_multipart()
        if case["framing"] == "req":
            assert frames[0] == b"", "a REQ client's reply starts with the empty delimiter"
        problem = reply_matches(case, json.loads(frames[-1]))
        assert problem is None, problem
    finally:
        sock.close()
    # The daemon is still healthy after every case.
    assert corpus_daemon.call("status")["statuses"] == {"api.v2": "active", "web": "active"}
