"""The event channel: `watcher.<res_name>.<event>` topics and their JSON payloads (Circus 0.19's, plus
our `flapping` event and reload progress counts).

Rule: one builder per event, so every publisher sends the same shape; payload keys are Circus's,
and ours are only ever added, never renamed. Pure: the caller passes the time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from circus_web_stack.core import notices as n
from circus_web_stack.core.notices import EventName

__all__ = ["EventName"]

TOPIC_PREFIX = "watcher."


@dataclass(frozen=True)
class Event:
    """One received event. `watcher` is the res_name from the topic (lower-case, `_` for spaces)."""

    watcher: str
    name: str
    payload: dict


def res_name(watcher_name: str) -> str:
    """Circus's topic form of a watcher name: lower-case, spaces as underscores."""
    return watcher_name.lower().replace(" ", "_")


def event_topic(watcher_name: str, event: str) -> str:
    return f"{TOPIC_PREFIX}{res_name(watcher_name)}.{event}"


def parse_event_topic(topic: str | bytes) -> tuple[str, str]:
    """(res_name, event) of `watcher.<res_name>.<event>`; ValueError for any other topic.

    The name is what lies between the first and the LAST dot, so `watcher.api.v2.spawn` is
    ("api.v2", "spawn") and `watcher.plugin:flapping.start` is ("plugin:flapping", "start").
    Circus's own parser takes the second dot-separated word and breaks on such names.
    """
    text = topic.decode("utf-8", "replace") if isinstance(topic, bytes) else topic
    if not text.startswith(TOPIC_PREFIX):
        raise ValueError(f"not an event topic (expected watcher.<name>.<event>): {text!r}")
    name, dot, event = text[len(TOPIC_PREFIX) :].rpartition(".")
    if not dot or not name or not event:
        raise ValueError(f"not an event topic (expected watcher.<name>.<event>): {text!r}")
    return name, event


def encode_event(watcher_name: str, event: str, payload: dict) -> list[bytes]:
    """The two frames published on the PUB socket: [topic, json]."""
    return [
        event_topic(watcher_name, event).encode("utf-8"),
        json.dumps(payload, allow_nan=False).encode("utf-8"),
    ]


def decode_event(frames: Sequence[bytes]) -> Event:
    """An event from the [topic, json] frames a SUB socket received; ValueError if malformed."""
    if len(frames) != 2:
        raise ValueError(f"an event has 2 frames (topic, json), got {len(frames)}")
    watcher, name = parse_event_topic(frames[0])
    try:
        payload = json.loads(bytes(frames[1]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"event {name} of {watcher}: payload is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"event {name} of {watcher}: payload is not a JSON object")
    return Event(watcher, name, payload)


# ---------------------------------------------------------------------------------------------------
# Payload builders. `time` is epoch seconds.


def spawn_payload(pid: int, time: float, *, wid: int | None = None) -> dict:
    """A process was started; `time` is when it started. `wid` (ours) is its worker number."""
    return _with({"process_pid": pid, "time": time}, wid=wid)


def reap_payload(
    pid: int, time: float, exit_code: int, *, wid: int | None = None, expected: bool | None = None
) -> dict:
    """A process was reaped. Published for EVERY exit, including ones we caused (Circus skips those).

    `exit_code` is the exit status, or -signum if a signal killed it (see exit_code_from_wait).
    `expected` (ours) says whether the daemon asked it to stop, to tell crashes from stops.
    """
    return _with({"process_pid": pid, "time": time, "exit_code": exit_code}, wid=wid, expected=expected)


def exit_code_from_wait(exit_status: int | None, signum: int | None) -> int:
    """Circus's exit_code: -signum when killed by a signal, else the exit status."""
    if signum is not None:
        return -signum
    if exit_status is None:
        raise ValueError("a reaped process has either an exit status or a signal")
    return exit_status


def kill_payload(pid: int, time: float) -> dict:
    """The stop signal was sent to a process."""
    return {"process_pid": pid, "time": time}


def stop_payload(time: float) -> dict:
    return {"time": time}


def start_payload(time: float) -> dict:
    return {"time": time}


def reload_payload(
    time: float,
    *,
    old: int | None = None,
    new: int | None = None,
    ready: int | None = None,
    done: bool | None = None,
    rolled_back: bool | None = None,
    reason: str | None = None,
) -> dict:
    """A reload finished (Circus: `{"time"}`), or, with counts (ours), is in progress: `old`
    processes still serving, `new` ones spawned, `ready` of those reported ready, `done` at the last
    step. A failed one says `rolled_back` and why (`reason`)."""
    return _with(
        {"time": time}, old=old, new=new, ready=ready, done=done, rolled_back=rolled_back, reason=reason
    )


def updated_payload(time: float, *, key: str | None = None) -> dict:
    """An option was set; `key` (ours) names it."""
    return _with({"time": time}, key=key)


def add_payload(time: float) -> dict:
    return {"time": time}


def remove_payload(time: float) -> dict:
    return {"time": time}


def hook_success_payload(hook: str, time: float) -> dict:
    return {"name": hook, "time": time}


def hook_failure_payload(hook: str, time: float, error: str) -> dict:
    return {"name": hook, "time": time, "error": error}


def flapping_payload(
    time: float,
    *,
    attempts: int,
    window: float,
    retry_in: float | None,
    retries_left: int | None,
    pause: int | None = None,
    reason: str | None = None,
) -> dict:
    """Ours: the watcher's processes exited `attempts` times within `window` seconds, so it was
    paused. It starts again in `retry_in` seconds; None means it gave up and stays stopped until an
    operator starts it (`reason` says why). `retries_left` is how many pauses remain (None:
    unlimited); `pause` counts them."""
    payload = {
        "time": time,
        "attempts": attempts,
        "window": window,
        "retry_in": retry_in,
        "retries_left": retries_left,
        "gave_up": retry_in is None,
    }
    return _with(payload, pause=pause, reason=reason)


def _with(payload: dict, **optional: object) -> dict:
    payload.update({k: v for k, v in optional.items() if v is not None})
    return payload


# The ONE table from what a watcher announces (core.notices) to its payload: an emit site passes a
# notice, never an event name and a payload of its choosing. A test checks every notice is here.
NOTICE_PAYLOADS: dict[type, Callable[..., dict]] = {
    n.Spawned: lambda x, t: spawn_payload(x.pid, t, wid=x.wid),
    n.Reaped: lambda x, t: reap_payload(x.pid, t, x.exit_code, wid=x.wid, expected=x.expected),
    n.Signalled: lambda x, t: kill_payload(x.pid, t),
    n.Started: lambda x, t: start_payload(t),
    n.Stopped: lambda x, t: stop_payload(t),
    n.Reloaded: lambda x, t: reload_payload(
        t, old=x.old, new=x.new, ready=x.ready, done=x.done, rolled_back=x.rolled_back, reason=x.reason
    ),
    n.Updated: lambda x, t: updated_payload(t, key=x.key),
    n.Added: lambda x, t: add_payload(t),
    n.Removed: lambda x, t: remove_payload(t),
    n.HookSucceeded: lambda x, t: hook_success_payload(x.hook, t),
    n.HookFailedNotice: lambda x, t: hook_failure_payload(x.hook, t, x.error),
    n.Flapping: lambda x, t: flapping_payload(
        t,
        attempts=x.attempts,
        window=x.window,
        retry_in=x.retry_in,
        retries_left=x.retries_left,
        pause=x.pause,
        reason=x.reason,
    ),
}


def notice_payload(notice: n.Notice, time: float) -> dict:
    """The JSON payload of `notice`, published at epoch `time`; its topic's event is `notice.event`."""
    return NOTICE_PAYLOADS[type(notice)](notice, time)


# ---------------------------------------------------------------------------------------------------
# Output lines (ours): what processes write to stdout/stderr, for the console's live tail. Not under
# `watcher.`, so Circus's subscribers (circusctl listen, plugins, which subscribe to `watcher.`) never
# see them; `circusctl listen output.` follows them.

OUTPUT_TOPIC_PREFIX = "output."
OUTPUT_STREAMS = ("stdout", "stderr")


def output_topic(watcher_name: str, stream: str) -> str:
    """`output.<res_name>.<stdout|stderr>`."""
    return f"{OUTPUT_TOPIC_PREFIX}{res_name(watcher_name)}.{stream}"


def output_payload(pid: int, time: float, lines: Sequence[str], *, dropped: int = 0) -> dict:
    """Whole lines one process wrote (newline removed, cut at the publisher's line limit). `dropped`
    counts the lines of this watcher left out since its last message, by the publisher's rate limit."""
    return {"pid": pid, "time": time, "lines": list(lines), "dropped": dropped}


def parse_output_topic(topic: str | bytes) -> tuple[str, str]:
    """(res_name, stream) of `output.<res_name>.<stream>`; ValueError for any other topic."""
    text = topic.decode("utf-8", "replace") if isinstance(topic, bytes) else topic
    name, dot, stream = text.removeprefix(OUTPUT_TOPIC_PREFIX).rpartition(".")
    if not text.startswith(OUTPUT_TOPIC_PREFIX) or not dot or not name or stream not in OUTPUT_STREAMS:
        raise ValueError(f"not an output topic (expected output.<name>.<stdout|stderr>): {text!r}")
    return name, stream
