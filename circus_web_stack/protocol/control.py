"""The control channel's codec: ROUTER frames in, a validated Request (or why not) out; replies out.

Rule: pure and total. Any input, however malformed, decodes to a Request, an Invalid (answer it with
an error reply) or a Dropped (nobody to answer); it never raises. Time is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from circus_web_stack.core.errors import ClientError, Errno
from circus_web_stack.protocol.command_spec import CommandSpec
from circus_web_stack.protocol.commands import get_command, validate
from circus_web_stack.protocol.properties import json_type

MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB: far above any real command, far below what hurts the daemon

RequestId = str | int | float | None


class Framing(StrEnum):
    """How the client framed its message; the reply is framed the same way."""

    DEALER = "dealer"  # [identity, json]: Circus's clients
    REQ = "req"  # [identity, b"", json]: a plain REQ socket (Circus drops these; we answer)


@dataclass(frozen=True)
class Envelope:
    """Who to answer and how: the ROUTER identity and the client's framing."""

    identity: bytes
    framing: Framing

    def frames(self, body: bytes) -> list[bytes]:
        if self.framing is Framing.REQ:
            return [self.identity, b"", body]
        return [self.identity, body]


@dataclass(frozen=True)
class Request:
    """A well-formed, validated command. `properties` are normalized with defaults filled."""

    envelope: Envelope
    id: RequestId
    command: str  # lower-case, a key of commands.COMMANDS
    properties: dict[str, object]
    cast: bool  # msg_type "cast": the client wants no reply
    spec: CommandSpec

    @property
    def waiting(self) -> bool:
        return bool(self.properties.get("waiting", False))


@dataclass(frozen=True)
class Invalid:
    """A message that reached us from a known client but cannot be run; answer with `error`
    (unless `cast`). `detail` is for the daemon's log: what exactly was wrong."""

    envelope: Envelope
    id: RequestId
    error: ClientError
    cast: bool
    detail: str


@dataclass(frozen=True)
class Dropped:
    """A message nobody can be answered for (no identity or no body); only log `reason`."""

    reason: str


Decoded = Request | Invalid | Dropped


def decode_request(frames: Sequence[bytes], *, max_bytes: int = MAX_MESSAGE_BYTES) -> Decoded:
    """Decode the frames a ROUTER received: `[identity, json]` or `[identity, b"", json]`."""
    if len(frames) < 2 or not frames[0]:
        return Dropped(f"message with {len(frames)} frame(s) and no identity or body: {_preview(frames)}")
    identity = bytes(frames[0])
    if len(frames) >= 3 and frames[1] == b"":
        envelope, body_frames = Envelope(identity, Framing.REQ), frames[2:]
    else:
        envelope, body_frames = Envelope(identity, Framing.DEALER), frames[1:]
    if len(body_frames) != 1:
        return _invalid(
            envelope,
            None,
            f"message invalid: expected one JSON frame, got {len(body_frames)}",
            Errno.MESSAGE_ERROR,
            f"{len(frames)} frames: {_preview(frames)}",
        )
    body = bytes(body_frames[0])
    if len(body) > max_bytes:
        return _invalid(
            envelope,
            None,
            f"message invalid: {len(body)} bytes is over the {max_bytes}-byte limit",
            Errno.MESSAGE_ERROR,
            f"oversized body starting {body[:80]!r}",
        )
    if not body.strip():
        return _invalid(envelope, None, "empty command", Errno.INVALID_JSON, "empty or blank body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _invalid(envelope, None, "json invalid", Errno.INVALID_JSON, f"not UTF-8: {exc}")
    try:
        message = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        # RecursionError: deeply nested arrays; the daemon must not die of its input.
        return _invalid(envelope, None, "json invalid", Errno.INVALID_JSON, f"{type(exc).__name__}: {exc}")
    if not isinstance(message, dict):
        kind = json_type(message)
        return _invalid(
            envelope,
            None,
            f"message invalid: expected a JSON object, got {kind}",
            Errno.MESSAGE_ERROR,
            text[:200],
        )
    return _decode_message(envelope, message)


def _decode_message(envelope: Envelope, message: dict) -> Decoded:
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int, float, type(None))):
        kind = json_type(request_id)
        reason = f"message invalid: 'id' must be a string, a number or null, got {kind}"
        return _invalid(envelope, None, reason, Errno.MESSAGE_ERROR, repr(request_id)[:200])
    msg_type = message.get("msg_type")
    if msg_type is not None and not isinstance(msg_type, str):
        reason = f"message invalid: 'msg_type' must be a string, got {json_type(msg_type)}"
        return _invalid(envelope, request_id, reason, Errno.MESSAGE_ERROR, repr(msg_type)[:200])
    cast = msg_type == "cast"
    command = message.get("command")
    if command is None:
        error = ClientError("message invalid 'command' is missing", Errno.MESSAGE_ERROR)
        return Invalid(envelope, request_id, error, cast, f"keys: {sorted(message)}")
    if not isinstance(command, str):
        error = ClientError(
            f"message invalid: 'command' must be a string, got {json_type(command)}", Errno.MESSAGE_ERROR
        )
        return Invalid(envelope, request_id, error, cast, repr(command)[:200])
    properties = message.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        error = ClientError(
            f"message invalid: 'properties' must be an object, got {json_type(properties)}",
            Errno.MESSAGE_ERROR,
        )
        return Invalid(envelope, request_id, error, cast, repr(properties)[:200])
    try:
        spec = get_command(command)
        normalized = validate(command, properties)
    except ClientError as exc:
        return Invalid(envelope, request_id, exc, cast, f"{command} {json.dumps(properties)[:200]}")
    return Request(envelope, request_id, spec.name, normalized, cast, spec)


# ---------------------------------------------------------------------------------------------------
# Replies.


def ok_reply(request_id: RequestId, result: dict | list | None, *, now: float, spec: CommandSpec) -> dict:
    """Circus's success shape: `{"status": "ok", "time", ...result, "id"}`; a list is `{"results": [...]}`.

    Only a command whose spec has `overrides_status` (status NAME) may put its own "status" in the
    reply, as Circus does; anywhere else it is a handler bug and raises TypeError, as does a result
    of another type or one that sets "time" or "id".
    """
    if result is None:
        fields: dict = {}
    elif isinstance(result, list):
        fields = {"results": result}
    elif isinstance(result, dict):
        fields = result
    else:
        raise TypeError(f"{spec.name} handler returned {type(result).__name__}; expected dict, list or None")
    reserved = {"time", "id"} if spec.overrides_status else {"status", "time", "id"}
    clash = reserved.intersection(fields)
    if clash:
        raise TypeError(f"{spec.name} handler result sets reserved reply field(s) {sorted(clash)}")
    reply: dict = {"status": "ok", "time": now}
    reply.update(fields)
    reply["id"] = request_id
    return reply


def error_reply(request_id: RequestId, reason: str, errno: int, *, now: float, tb: str | None = None) -> dict:
    """Circus's error shape: `{"status": "error", "reason", "tb", "time", "errno", "id"}`."""
    return {"status": "error", "reason": reason, "tb": tb, "time": now, "errno": int(errno), "id": request_id}


def encode_reply(request: Request, result: dict | list | None, *, now: float) -> list[bytes] | None:
    """Frames answering `request` with `result`; None for a cast. Raises TypeError or ValueError for a
    result that is not a JSON-able dict/list/None (answer with server_error() then)."""
    if request.cast:
        return None
    reply = ok_reply(request.id, result, now=now, spec=request.spec)
    return request.envelope.frames(encode_json(reply))


def encode_error(
    target: Request | Invalid, error: ClientError, *, now: float, tb: str | None = None
) -> list[bytes] | None:
    """Frames answering `target` with `error`; None for a cast (Circus never answers a cast)."""
    if target.cast:
        return None
    reply = error_reply(target.id, error.reason, error.errno, now=now, tb=tb)
    return target.envelope.frames(encode_json(reply))


def server_error() -> ClientError:
    """Circus's answer when a handler produced something unusable (errno 6)."""
    return ClientError("server error", Errno.BAD_MSG_DATA_ERROR)


def encode_json(message: dict) -> bytes:
    """UTF-8 JSON spaced as Circus's replies; NaN and infinities are refused (JSON.parse rejects them)."""
    return json.dumps(message, allow_nan=False, separators=(", ", ": ")).encode("utf-8")


# ---------------------------------------------------------------------------------------------------
# The client's side of the same shapes.


def encode_request(
    command: str, properties: dict | None = None, *, request_id: RequestId, cast: bool = False
) -> bytes:
    """The one frame a DEALER client sends."""
    message: dict = {"id": request_id, "command": command, "properties": properties or {}}
    if cast:
        message["msg_type"] = "cast"
    return encode_json(message)


def decode_reply(body: bytes) -> dict:
    """A reply frame as a dict; ValueError naming the problem if it is not a JSON object."""
    try:
        reply = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"reply is not JSON: {exc}; starts {body[:80]!r}") from None
    if not isinstance(reply, dict):
        raise ValueError(f"reply is a JSON {json_type(reply)}, not an object")
    return reply


def _invalid(envelope: Envelope, request_id: RequestId, reason: str, errno: Errno, detail: str) -> Invalid:
    return Invalid(envelope, request_id, ClientError(reason, errno), False, detail)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _preview(frames: Sequence[bytes]) -> str:
    return repr([bytes(f[:40]) for f in frames[:4]])
