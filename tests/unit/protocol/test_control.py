"""The control codec: every framing, every malformed input, reply shapes, the status wart, casts."""

from __future__ import annotations

import json

import pytest

from circus_web_stack.core.errors import ClientError, Errno
from circus_web_stack.protocol.commands import COMMANDS
from circus_web_stack.protocol.control import (
    Dropped,
    Envelope,
    Framing,
    Invalid,
    Request,
    decode_reply,
    decode_request,
    encode_error,
    encode_reply,
    encode_request,
    error_reply,
    ok_reply,
    server_error,
)

ID = b"\x00k\x8bEg"


def body(message: object) -> bytes:
    return json.dumps(message).encode()


def test_dealer_framing_decodes_to_a_validated_request():
    decoded = decode_request([ID, body({"id": "8", "command": "INCR", "properties": {"name": "web"}})])
    assert isinstance(decoded, Request)
    assert decoded.envelope == Envelope(ID, Framing.DEALER)
    assert (decoded.id, decoded.command, decoded.cast) == ("8", "incr", False)
    assert decoded.properties == {"name": "web", "nb": 1, "waiting": False}
    assert decoded.spec is COMMANDS["incr"]
    assert decoded.waiting is False


def test_req_framing_is_accepted_and_answered_with_the_delimiter():
    decoded = decode_request([ID, b"", body({"id": 3, "command": "list"})])
    assert isinstance(decoded, Request)
    assert decoded.envelope.framing is Framing.REQ
    frames = encode_reply(decoded, {"watchers": ["web"]}, now=5.0)
    assert frames[:2] == [ID, b""]
    assert json.loads(frames[2]) == {"status": "ok", "time": 5.0, "watchers": ["web"], "id": 3}


def test_dealer_reply_has_two_frames():
    decoded = decode_request([ID, body({"id": "x", "command": "numwatchers"})])
    frames = encode_reply(decoded, {"numwatchers": 2}, now=1.0)
    assert len(frames) == 2 and frames[0] == ID


def test_missing_properties_and_id_default_to_empty_and_null():
    decoded = decode_request([ID, body({"command": "list"})])
    assert isinstance(decoded, Request)
    assert decoded.id is None and decoded.properties == {}


@pytest.mark.parametrize(
    "frames",
    [[], [ID], [b"", body({"command": "list"})]],
    ids=["no frames", "identity only", "empty identity"],
)
def test_messages_without_identity_or_body_are_dropped(frames):
    decoded = decode_request(frames)
    assert isinstance(decoded, Dropped)
    assert "frame" in decoded.reason


def invalid(frames: list[bytes], **kwargs) -> Invalid:
    decoded = decode_request(frames, **kwargs)
    assert isinstance(decoded, Invalid), decoded
    return decoded


@pytest.mark.parametrize(
    ("raw", "reason", "errno"),
    [
        (b"{not json", "json invalid", Errno.INVALID_JSON),
        (b"\xff\xfe\x00\x01", "json invalid", Errno.INVALID_JSON),
        (b'{"command": "list", "x": NaN}', "json invalid", Errno.INVALID_JSON),
        (b"[" * 100_000 + b"]" * 100_000, "json invalid", Errno.INVALID_JSON),
        (b"   \n", "empty command", Errno.INVALID_JSON),
        (b"[1, 2]", "message invalid: expected a JSON object, got array", Errno.MESSAGE_ERROR),
        (b'"list"', "message invalid: expected a JSON object, got string", Errno.MESSAGE_ERROR),
    ],
    ids=["invalid json", "binary garbage", "NaN", "deep nesting", "blank", "array", "string"],
)
def test_malformed_bodies_get_an_error_with_null_id(raw, reason, errno):
    result = invalid([ID, raw])
    assert (result.error.reason, result.error.errno, result.id, result.cast) == (reason, errno, None, False)
    assert result.detail


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"id": "a"}, "message invalid 'command' is missing"),
        ({"id": "a", "command": 7}, "message invalid: 'command' must be a string, got number"),
        (
            {"id": "a", "command": "list", "properties": []},
            "message invalid: 'properties' must be an object, got array",
        ),
        (
            {"id": "a", "command": "list", "msg_type": 1},
            "message invalid: 'msg_type' must be a string, got number",
        ),
    ],
)
def test_mistyped_fields_keep_the_request_id(message, reason):
    result = invalid([ID, body(message)])
    assert result.error.reason == reason
    assert result.error.errno == Errno.MESSAGE_ERROR
    assert result.id == "a"


@pytest.mark.parametrize("bad_id", [{"a": 1}, [1], True])
def test_mistyped_id_is_answered_with_null_id(bad_id):
    result = invalid([ID, body({"id": bad_id, "command": "list"})])
    assert result.id is None
    assert "'id' must be a string, a number or null" in result.error.reason


def test_oversized_message_is_refused_before_parsing():
    result = invalid([ID, b'{"command": "list", "pad": "' + b"x" * 100 + b'"}'], max_bytes=64)
    assert result.error.errno == Errno.MESSAGE_ERROR
    assert "over the 64-byte limit" in result.error.reason


def test_default_cap_is_one_mebibyte():
    big = b'{"command": "list", "pad": "' + b"x" * (1 << 20) + b'"}'
    assert "limit" in invalid([ID, big]).error.reason


@pytest.mark.parametrize(
    "frames",
    [[ID, b"a", b"b"], [ID, b"", b"a", b"b"]],
    ids=["dealer", "req"],
)
def test_more_than_one_body_frame_is_an_error_framed_like_the_request(frames):
    result = invalid(frames)
    assert result.error.reason == "message invalid: expected one JSON frame, got 2"
    out = encode_error(result, result.error, now=0.0)
    expected_prefix = [ID, b""] if frames[1] == b"" else [ID]
    assert out[: len(expected_prefix)] == expected_prefix


def test_unknown_command_is_errno_2_with_circus_message():
    result = invalid([ID, body({"id": "14", "command": "nosuch", "properties": {}})])
    assert (result.error.reason, result.error.errno) == ("unknown command: 'nosuch'", Errno.UNKNOWN_COMMAND)


def test_validation_errors_become_invalid_with_errno_3():
    result = invalid([ID, body({"id": "15", "command": "get", "properties": {"name": "web"}})])
    assert (result.error.reason, result.error.errno) == ("message invalid 'keys' is missing", 3)


def test_error_reply_shape_and_key_order_match_circus():
    result = invalid([ID, body({"id": "15", "command": "get", "properties": {"name": "web"}})])
    frames = encode_error(result, result.error, now=12.5, tb="Traceback...")
    reply = json.loads(frames[1])
    assert list(reply) == ["status", "reason", "tb", "time", "errno", "id"]
    assert reply == {
        "status": "error",
        "reason": "message invalid 'keys' is missing",
        "tb": "Traceback...",
        "time": 12.5,
        "errno": 3,
        "id": "15",
    }


def test_ok_reply_order_and_list_results():
    spec = COMMANDS["list"]
    assert list(ok_reply("1", {"watchers": []}, now=1.0, spec=spec)) == ["status", "time", "watchers", "id"]
    assert ok_reply("1", [1, 2], now=1.0, spec=spec) == {
        "status": "ok",
        "time": 1.0,
        "results": [1, 2],
        "id": "1",
    }
    assert ok_reply(None, None, now=1.0, spec=spec) == {"status": "ok", "time": 1.0, "id": None}


def test_status_of_one_watcher_overrides_the_status_field():
    decoded = decode_request([ID, body({"id": "s", "command": "status", "properties": {"name": "web"}})])
    reply = json.loads(encode_reply(decoded, {"status": "active"}, now=2.0)[1])
    assert reply == {"status": "active", "time": 2.0, "id": "s"}


@pytest.mark.parametrize("result", [{"status": "active"}, {"time": 1}, {"id": "x"}, 42, "ok"])
def test_handler_results_that_break_the_shape_raise(result):
    decoded = decode_request([ID, body({"id": "s", "command": "list"})])
    with pytest.raises(TypeError):
        encode_reply(decoded, result, now=1.0)


def test_unserializable_result_raises_so_the_server_can_answer_server_error():
    decoded = decode_request([ID, body({"id": "s", "command": "dstats"})])
    with pytest.raises(ValueError):
        encode_reply(decoded, {"info": {"cpu": float("nan")}}, now=1.0)
    frames = encode_error(decoded, server_error(), now=1.0)
    assert json.loads(frames[1])["errno"] == Errno.BAD_MSG_DATA_ERROR


def test_cast_gets_no_reply_even_on_error():
    decoded = decode_request(
        [ID, body({"command": "stop", "properties": {"name": "web"}, "msg_type": "cast"})]
    )
    assert isinstance(decoded, Request) and decoded.cast
    assert encode_reply(decoded, None, now=1.0) is None
    assert encode_error(decoded, ClientError("boom"), now=1.0) is None
    bad = invalid([ID, body({"command": "nosuch", "msg_type": "cast"})])
    assert bad.cast and encode_error(bad, bad.error, now=1.0) is None


def test_client_side_request_and_reply_round_trip():
    frame = encode_request("incr", {"name": "web"}, request_id="abc")
    decoded = decode_request([ID, frame])
    assert isinstance(decoded, Request) and decoded.id == "abc"
    cast = decode_request([ID, encode_request("stop", None, request_id="c", cast=True)])
    assert isinstance(cast, Request) and cast.cast
    assert decode_reply(json.dumps(error_reply("abc", "x", 3, now=1.0)).encode())["errno"] == 3


@pytest.mark.parametrize("raw", [b"nope", b"[1]", b"\xff"])
def test_decode_reply_refuses_non_objects(raw):
    with pytest.raises(ValueError):
        decode_reply(raw)
