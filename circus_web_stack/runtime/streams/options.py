"""Converters from `stdout_stream.*` ini strings to the typed values stream constructors take.

The rule it keeps: each converter accepts the already-typed value too (options given from Python or the
control protocol), and raises ValueError saying what would be valid; the caller names the option.
"""

from __future__ import annotations

from typing import Any

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


def as_optional_str(value: Any) -> str | None:
    """An empty value means "not set" (so `time_format =` turns the prefix off)."""
    if value is None:
        return None
    return as_str(value) or None


def as_non_negative_int(value: Any) -> int:
    number = _as_int(value)
    if number < 0:
        raise ValueError(f"expected a whole number 0 or more, got {value!r}")
    return number


def as_positive_int(value: Any) -> int:
    number = _as_int(value)
    if number < 1:
        raise ValueError(f"expected a whole number 1 or more, got {value!r}")
    return number


def as_bool(value: Any) -> bool:
    # Circus did bool("false") == True here; we read the word.
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false (also yes/no, on/off, 1/0), got {value!r}")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None
