"""Value kinds: small parser/validator objects, one per kind of option value (bool, int, seconds, ...).

Rule: a kind accepts the ini text form AND the native Python form the API sends (4, True, [..]), returns
the parsed Python value, and refuses anything else with an InvalidValue whose message names the bad value
and what would be valid. Pure. Kinds that name things of the system (signals, users) are in os_kinds.py.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from typing import Any


class InvalidValue(ValueError):
    """A value the kind refuses; str() is the operator-facing reason, without file or option.

    `key` names the sub-key at fault when a composite value (a stream's options, a dict of hooks) is
    refused, so the loader can point at that key's line.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def quoted(raw: Any) -> str:
    """A refused value as messages show it: repr of the text."""
    return repr(raw) if isinstance(raw, str) else repr(str(raw))


class Kind:
    """Base of all kinds. `label` is the type column in docs/options.md and the 'expected ...' text."""

    label = "text"

    def parse(self, raw: Any) -> Any:
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """The value as Circus's `options`/`get` commands show it (JSON-serialisable)."""
        return value

    def to_text(self, value: Any) -> str:
        """The value as one would write it in an ini file (docs' default column)."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def refuse(self, raw: Any, what: str) -> InvalidValue:
        return InvalidValue(f"{quoted(raw)} is not {what} (expected {self.label})")


class Bool(Kind):
    label = "true or false"
    _TRUE = frozenset({"true", "1", "yes", "on"})
    _FALSE = frozenset({"false", "0", "no", "off"})

    def parse(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            text = raw.strip().lower()
            if text in self._TRUE:
                return True
            if text in self._FALSE:
                return False
        raise self.refuse(raw, "a boolean")


class Int(Kind):
    def __init__(self, minimum: int | None = None, maximum: int | None = None, label: str = "") -> None:
        self.minimum = minimum
        self.maximum = maximum
        if label:
            self.label = label
        elif minimum is not None and maximum is not None:
            self.label = f"an integer from {minimum} to {maximum}"
        elif minimum is not None:
            self.label = f"an integer >= {minimum}"
        else:
            self.label = "an integer"

    def parse(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise self.refuse(raw, "a whole number")
        whole_float = isinstance(raw, float) and raw.is_integer()
        if (
            isinstance(raw, int)
            or whole_float
            or (isinstance(raw, str) and re.fullmatch(r"\s*[-+]?\d+\s*", raw))
        ):
            value = int(raw)
        else:
            raise self.refuse(raw, "a whole number")
        self._check_range(raw, value)
        return value

    def _check_range(self, raw: Any, value: int | float) -> None:
        too_small = self.minimum is not None and value < self.minimum
        too_big = self.maximum is not None and value > self.maximum
        if too_small or too_big:
            raise InvalidValue(f"{quoted(raw)} is out of range (expected {self.label})")


class Seconds(Kind):
    """A duration in seconds; fractions allowed (Circus accepted only whole seconds for warmup_delay)."""

    def __init__(self, minimum: float = 0.0, *, positive: bool = False) -> None:
        self.minimum = minimum
        self.positive = positive
        self.label = "seconds > 0" if positive else f"seconds >= {minimum:g}"

    def parse(self, raw: Any) -> float:
        if isinstance(raw, bool):
            raise self.refuse(raw, "a number of seconds")
        if isinstance(raw, int | float):
            value = float(raw)
        elif isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                raise self.refuse(raw, "a number of seconds") from None
        else:
            raise self.refuse(raw, "a number of seconds")
        if math.isnan(value) or math.isinf(value):
            raise self.refuse(raw, "a finite number of seconds")
        if value < self.minimum or (self.positive and value <= 0):
            raise InvalidValue(f"{quoted(raw)} is out of range (expected {self.label})")
        return value


class Number(Kind):
    """A finite number, fractions allowed, within [minimum, maximum] (a rate, a percentage)."""

    def __init__(
        self,
        minimum: float | None = None,
        maximum: float | None = None,
        label: str = "",
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        if label:
            self.label = label
        elif minimum is not None and maximum is not None:
            self.label = f"a number from {minimum:g} to {maximum:g}"
        elif minimum is not None:
            self.label = f"a number >= {minimum:g}"
        else:
            self.label = "a number"

    def parse(self, raw: Any) -> float:
        if isinstance(raw, bool):
            raise self.refuse(raw, "a number")
        try:
            value = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise self.refuse(raw, "a number") from None
        if math.isnan(value) or math.isinf(value):
            raise self.refuse(raw, "a finite number")
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise InvalidValue(f"{quoted(raw)} is out of range (expected {self.label})")
        return value


class Maybe(Kind):
    """Another kind's value, or None for an empty value (an option that may be left unset)."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.label = f"{kind.label} (empty: not set)"

    def parse(self, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return self.kind.parse(raw)

    def to_json(self, value: Any) -> Any:
        return None if value is None else self.kind.to_json(value)

    def to_text(self, value: Any) -> str:
        return "" if value is None else self.kind.to_text(value)


class Text(Kind):
    """A string. `optional` kinds turn an empty value into None (the option's "not set")."""

    def __init__(self, *, optional: bool = False, label: str = "") -> None:
        self.optional = optional
        self.label = label or ("text (empty: not set)" if optional else "non-empty text")

    def parse(self, raw: Any) -> str | None:
        if raw is None and self.optional:
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise self.refuse(raw, "text")
        text = str(raw)
        if text.strip() == "":
            if self.optional:
                return None
            raise InvalidValue(f"an empty value is not allowed (expected {self.label})")
        return text


class Choice(Kind):
    """One of a fixed set of words, case-insensitive; returns the canonical spelling.

    With `prefix`, the word may be written without it (`INET6` for `AF_INET6`).
    """

    def __init__(self, *choices: str, prefix: str = "") -> None:
        self.choices = choices
        self.prefix = prefix.lower()
        self.label = "one of " + ", ".join(choices)

    def parse(self, raw: Any) -> str:
        if isinstance(raw, str):
            text = raw.strip().lower()
            for choice in self.choices:
                if text in (choice.lower(), choice.lower().removeprefix(self.prefix)):
                    return choice
        raise self.refuse(raw, "a valid choice")


class Octal(Kind):
    """A permission mask written in octal (`022`); a native int from the API is taken as is."""

    def __init__(self, *, optional: bool = False) -> None:
        self.optional = optional
        self.label = "an octal mask from 000 to 777" + (" (empty: not set)" if optional else "")

    def parse(self, raw: Any) -> int | None:
        if isinstance(raw, bool):
            raise self.refuse(raw, "an octal number")
        if raw is None and self.optional:
            return None
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str):
            text = raw.strip().lower()
            if text == "" and self.optional:
                return None
            if not re.fullmatch(r"(0o)?[0-7]+", text):
                raise self.refuse(raw, "an octal number")
            value = int(text.removeprefix("0o"), 8)
        else:
            raise self.refuse(raw, "an octal number")
        if not 0 <= value <= 0o777:
            raise InvalidValue(f"{quoted(raw)} is out of range (expected {self.label})")
        return value

    def to_text(self, value: Any) -> str:
        return "" if value is None else f"{value:03o}"


class Words(Kind):
    """A space-separated list in the ini (`include = a.ini conf.d/*.ini`); a list from the API."""

    label = "space-separated words"

    def parse(self, raw: Any) -> tuple[str, ...]:
        if isinstance(raw, str):
            return tuple(raw.split())
        if isinstance(raw, Sequence) and all(isinstance(item, str) for item in raw):
            return tuple(raw)
        raise self.refuse(raw, "a list of words")

    def to_json(self, value: Any) -> Any:
        return list(value)

    def to_text(self, value: Any) -> str:
        return " ".join(value)


class Args(Kind):
    """Command-line arguments: shell-quoted text split like a shell would (shlex), or a list."""

    label = "arguments, shell-quoted, or a list"

    def parse(self, raw: Any) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            try:
                return tuple(shlex.split(raw))
            except ValueError as exc:  # e.g. "No closing quotation"
                raise InvalidValue(f"{raw!r} cannot be split into arguments: {exc}") from None
        if isinstance(raw, Sequence) and all(isinstance(item, str | int | float) for item in raw):
            return tuple(str(item) for item in raw)
        raise self.refuse(raw, "arguments")

    def to_json(self, value: Any) -> Any:
        return shlex.join(value)

    def to_text(self, value: Any) -> str:
        return shlex.join(value)
