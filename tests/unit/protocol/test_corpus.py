"""The golden corpus through the codec: error cases are answered exactly; daemon cases validate and
their captured replies are reproducible by the encoder."""

from __future__ import annotations

import json

import pytest

from circus_web_stack.protocol.commands import COMMANDS
from circus_web_stack.protocol.control import Invalid, Request, decode_request, encode_error, ok_reply
from tests.corpus.loader import load_cases, reply_matches, request_frames

IDENTITY = b"client-1"
CASES = load_cases()
CODEC_CASES = [c for c in CASES if not c["needs_daemon"]]
DAEMON_CASES = [c for c in CASES if c["needs_daemon"]]


def test_corpus_has_both_kinds():
    assert len(CODEC_CASES) >= 10 and len(DAEMON_CASES) >= 5


@pytest.mark.parametrize("case", CODEC_CASES, ids=[c["name"] for c in CODEC_CASES])
def test_codec_answers_error_cases_exactly(case):
    decoded = decode_request(request_frames(case, IDENTITY))
    assert isinstance(decoded, Invalid), decoded
    frames = encode_error(decoded, decoded.error, now=1795392519.2)
    if case["reply"] is None:
        assert frames is None
        return
    prefix = [IDENTITY, b""] if case["framing"] == "req" else [IDENTITY]
    assert frames[:-1] == prefix
    problem = reply_matches(case, json.loads(frames[-1]))
    assert problem is None, problem


@pytest.mark.parametrize("case", DAEMON_CASES, ids=[c["name"] for c in DAEMON_CASES])
def test_daemon_cases_pass_validation(case):
    decoded = decode_request(request_frames(case, IDENTITY))
    assert isinstance(decoded, Request), decoded


@pytest.mark.parametrize(
    "case",
    [c for c in DAEMON_CASES if c["reply"]["status"] != "error"],
    ids=[c["name"] for c in DAEMON_CASES if c["reply"]["status"] != "error"],
)
def test_encoder_reproduces_captured_success_replies(case):
    spec = COMMANDS[case["request"]["command"]]
    fields = {k: v for k, v in case["reply"].items() if k not in ("time", "id")}
    if fields.get("status") == "ok":
        del fields["status"]
    reply = ok_reply(case["request"].get("id"), fields, now=1.5, spec=spec)
    assert list(reply)[:2] == ["status", "time"] and list(reply)[-1] == "id"
    assert reply_matches({**case, "compare": "exact"}, reply) is None


def test_reply_matches_reports_differences():
    case = {"reply": {"status": "ok", "id": "1", "numprocesses": 3}, "compare": "keys"}
    assert reply_matches(case, {"status": "ok", "time": 1.0, "id": "1", "numprocesses": 9}) is None
    assert "keys" in reply_matches(case, {"status": "ok", "time": 1.0, "id": "1"})
    assert "id" in reply_matches(case, {"status": "ok", "time": 1.0, "id": "2", "numprocesses": 3})
    assert "time" in reply_matches(case, {"status": "ok", "id": "1", "numprocesses": 3})
