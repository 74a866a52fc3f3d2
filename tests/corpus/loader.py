"""Reads the control-protocol corpus (one JSON file per case, see README.md) and compares replies.

Rule: the format is the contract between the codec's unit test and the lead's replay against a
real daemon; both go through these functions.
"""

from __future__ import annotations

import json
from pathlib import Path

CORPUS_DIR = Path(__file__).parent
_BODY_FIELDS = ("request", "request_body", "request_body_hex", "request_frames")


def load_cases() -> list[dict]:
    cases = []
    for path in sorted(CORPUS_DIR.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        given = [f for f in _BODY_FIELDS if f in case]
        if case.get("name") != path.stem or len(given) != 1 or case.get("framing") not in ("dealer", "req"):
            raise ValueError(f"{path}: needs name == file name, one of {_BODY_FIELDS} and framing dealer|req")
        cases.append(case)
    return cases


def body_frames(case: dict) -> list[bytes]:
    """The frames after the identity (and after the empty delimiter for REQ framing)."""
    if "request" in case:
        return [json.dumps(case["request"]).encode("utf-8")]
    if "request_body" in case:
        return [case["request_body"].encode("utf-8")]
    if "request_body_hex" in case:
        return [bytes.fromhex(case["request_body_hex"])]
    return [frame.encode("utf-8") for frame in case["request_frames"]]


def request_frames(case: dict, identity: bytes) -> list[bytes]:
    """The frames as a ROUTER receives them from a client with this identity."""
    delimiter = [b""] if case["framing"] == "req" else []
    return [identity, *delimiter, *body_frames(case)]


def reply_matches(case: dict, reply: dict) -> str | None:
    """None if `reply` is what the case expects, else what differs."""
    expected = case["reply"]
    if not isinstance(reply.get("time"), (int, float)):
        return f"reply has no numeric time: {reply!r}"
    actual = {k: v for k, v in reply.items() if k != "time"}
    if case["compare"] == "exact":
        return None if actual == expected else f"expected {expected!r}, got {actual!r}"
    if set(actual) != set(expected):
        return f"expected keys {sorted(expected)}, got {sorted(actual)}"
    for key in ("status", "id", "errno"):
        if actual.get(key) != expected.get(key):
            return f"{key}: expected {expected.get(key)!r}, got {actual.get(key)!r}"
    return None
