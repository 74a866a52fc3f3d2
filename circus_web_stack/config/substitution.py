"""Circus's variable syntax: `$(circus.KEY)` and `((circus.KEY))`, plus bash-style `$VAR` in env values.

Pure. Unknown keys are left verbatim: that is how spawn-time variables (circus.wid, circus.sockets.web)
survive the config-load pass, which only knows circus.env.*. The runtime expands the rest at spawn with
the same `substitute`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_CIRCUS_VARIABLE = re.compile(r"\$\(circus\.([\w.\-]+)\)|\(\(circus\.([\w.\-]+)\)\)", re.IGNORECASE)
# As Circus: upper-case names only, so `$lowercase` and `$1` in a value stay as they are.
_ENV_VARIABLE = re.compile(r"\$([A-Z]+[A-Z0-9_]*)")
_LEGACY_WID = re.compile(r"\$WID\b")


def flatten_variables(variables: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased keys without the `circus.` prefix; nested mappings become dotted keys
    ({"sockets": {"web": 5}} -> {"sockets.web": "5"}); None becomes ''."""
    flat: dict[str, str] = {}
    for key, value in variables.items():
        name = str(key).lower().removeprefix("circus.")
        if isinstance(value, Mapping):
            for sub, sub_value in flatten_variables(value).items():
                flat[f"{name}.{sub}"] = sub_value
        else:
            flat[name] = "" if value is None else str(value)
    return flat


def substitute(text: str, variables: Mapping[str, Any]) -> str:
    """Expand `$(circus.KEY)` and `((circus.KEY))` from `variables`; keys are case-insensitive and may be
    given with or without the `circus.` prefix, nested mappings as in `flatten_variables`. Unknown keys
    are left as written."""
    lookup = flatten_variables(variables)

    def replace(match: re.Match[str]) -> str:
        key = (match.group(1) or match.group(2)).lower()
        return lookup.get(key, match.group(0))

    return _CIRCUS_VARIABLE.sub(replace, text)


def referenced_keys(text: str) -> list[str]:
    """The lower-cased KEYs of every `$(circus.KEY)` / `((circus.KEY))` in `text`, in order."""
    return [(m.group(1) or m.group(2)).lower() for m in _CIRCUS_VARIABLE.finditer(text)]


def referenced_sockets(text: str) -> set[str]:
    """Names X of the `circus.sockets.X` references in `text` (lower-cased, as socket names are)."""
    return {key[len("sockets.") :] for key in referenced_keys(text) if key.startswith("sockets.")}


def expand_env_vars(text: str, environ: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Expand `$VAR` (upper-case names) from `environ`. An unset variable becomes '', as in Circus and
    the shell; its name is returned so the loader can warn about it."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            missing.append(name)
        return environ.get(name, "")

    return _ENV_VARIABLE.sub(replace, text), tuple(missing)


def uses_legacy_wid(text: str) -> bool:
    """True when `text` uses Circus's deprecated `$WID` (now `$(circus.wid)`)."""
    return bool(_LEGACY_WID.search(text))
