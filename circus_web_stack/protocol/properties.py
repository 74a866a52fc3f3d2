"""The property types of control commands and how a decoded JSON value is checked against one, plus
the `match` modes that select watchers by name.

Rule: pure; a refused value raises ClientError in Circus's errno and message style, naming the
property, the command and what would be valid.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from circus_web_stack.core.errors import ClientError
from circus_web_stack.protocol.signals import signal_number

MATCH_MODES = ("simple", "glob", "regex")
DEFAULT_MATCH = "glob"


class PropType(StrEnum):
    STR = "string"
    INT = "integer"
    NUMBER = "number"
    BOOL = "boolean"
    STR_LIST = "list of strings"
    ARGS = "string or list of strings"
    OPTIONS = "object of watcher options"  # keys and values are checked by the config option table
    SIGNAL = "signal name or number"
    MATCH = "one of simple, glob, regex"


@dataclass(frozen=True)
class Prop:
    name: str
    type: PropType
    doc: str
    required: bool = False
    default: object = None  # None: absent unless given


def check_property(command: str, prop: Prop, value: object) -> object:
    """`value` normalized for `prop` of `command` (signals as ints, "3" as 3); ClientError if refused."""
    kind = prop.type
    if kind is PropType.STR and isinstance(value, str):
        return value
    if kind is PropType.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            return int(value)
    if kind is PropType.NUMBER:
        number = _finite_number(value)
        if number is not None:
            return number
    if kind is PropType.BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.strip().lower() in ("true", "1", "yes")
    if kind is PropType.STR_LIST:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    if kind is PropType.ARGS and (
        isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    ):
        return value
    if kind is PropType.OPTIONS and isinstance(value, dict):
        # Which keys `add`/`set` accept and their values are the config option table's business
        # (config.is_settable, config.set_watcher_option); the wire only fixes the shape.
        return value
    if kind is PropType.SIGNAL:
        try:
            return signal_number(value)
        except ValueError as exc:
            raise ClientError(str(exc)) from None
    if kind is PropType.MATCH and isinstance(value, str) and value.lower() in MATCH_MODES:
        return value.lower()
    raise ClientError(
        f"message invalid: {prop.name!r} of {command} must be {_article(kind.value)}, "
        f"got {json_type(value)} {value!r}"
    )


def match_names(pattern: str, names: Sequence[str], match: str = DEFAULT_MATCH) -> list[str]:
    """The names (in their given order) that `pattern` selects; all modes are case-insensitive.

    simple: equal; glob: fnmatch over the whole name; regex: re.fullmatch. An invalid regex or mode
    is a ClientError (errno 3).
    """
    mode = match.lower()
    if mode == "simple":
        wanted = pattern.lower()
        return [n for n in names if n.lower() == wanted]
    if mode == "glob":
        glob = pattern.lower()
        return [n for n in names if fnmatch.fnmatchcase(n.lower(), glob)]
    if mode == "regex":
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ClientError(f"invalid regex {pattern!r}: {exc}") from None
        return [n for n in names if regex.fullmatch(n)]
    raise ClientError(f"message invalid: match must be one of {', '.join(MATCH_MODES)}, got {match!r}")


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages: null, boolean, number, string..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


_INT_TEXT = re.compile(r"-?\d+")


def _finite_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _article(text: str) -> str:
    if text.startswith(("one of", "list", "string or")):
        return text if text.startswith("one of") else f"a {text}"
    return f"an {text}" if text[0] in "aeiou" else f"a {text}"
