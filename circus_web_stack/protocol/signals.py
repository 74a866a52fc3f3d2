"""Signal names and numbers as they appear on the wire (`USR1`, `SIGUSR1`, `10`, `SIGRTMIN+1`).

Rule: pure lookups in the stdlib's signal tables; nothing here installs a handler or sends a signal.
"""

from __future__ import annotations

import re
import signal

from circus_web_stack.core.suggest import did_you_mean

_RT_RE = re.compile(r"^(?:SIG)?RT(MIN|MAX)(?:([+-])(\d+))?$")


def signal_number(value: object) -> int:
    """The signal number for `value` (an int, a decimal string or a name); ValueError if it is none.

    Names are case-insensitive, with or without the SIG prefix; `SIGRTMIN+n` and `SIGRTMAX-n` give
    real-time signals. 0 is refused: it sends nothing, so asking for it is a mistake.
    """
    if isinstance(value, bool):
        raise ValueError(f"signal invalid: {value!r} (expected a name like TERM, USR1 or a number)")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip().upper()
        number = int(text) if text.isdigit() else _number_from_name(text, value)
    else:
        raise ValueError(f"signal invalid: {value!r} (expected a name like TERM, USR1 or a number)")
    if number not in _VALID_NUMBERS:
        raise ValueError(f"signal invalid: {value!r} is not a signal number on this system (1-{_MAX_SIGNAL})")
    return number


def signal_name(number: int) -> str:
    """`SIGTERM` for 15, `SIGRTMIN+1` for a real-time signal, the number as text if it has no name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        pass
    if signal.SIGRTMIN < number < signal.SIGRTMAX:
        return f"SIGRTMIN+{number - signal.SIGRTMIN}"
    return str(number)


def _number_from_name(text: str, original: str) -> int:
    rt = _RT_RE.match(text)
    if rt:
        base = signal.SIGRTMIN if rt.group(1) == "MIN" else signal.SIGRTMAX
        offset = int(rt.group(3) or 0)
        number = base + offset if rt.group(2) == "+" else base - offset
        if not signal.SIGRTMIN <= number <= signal.SIGRTMAX:
            raise ValueError(
                f"signal invalid: {original!r} is outside SIGRTMIN..SIGRTMAX "
                f"({int(signal.SIGRTMIN)}-{int(signal.SIGRTMAX)})"
            )
        return number
    name = text if text.startswith("SIG") else "SIG" + text
    try:
        return int(signal.Signals[name])
    except KeyError:
        hint = did_you_mean(name, signal.Signals.__members__)
        raise ValueError(
            f"signal invalid: {original!r}{hint} (expected a name like TERM, USR1, SIGRTMIN+1 or a number)"
        ) from None


_VALID_NUMBERS = frozenset(int(s) for s in signal.valid_signals())
_MAX_SIGNAL = max(_VALID_NUMBERS)
