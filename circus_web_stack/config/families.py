"""Composite watcher values: env, hooks, rlimits and output streams.

In the ini each comes as a family of prefixed keys (`hooks.before_start`, `rlimit_nofile`,
`stdout_stream.filename`); from the API or `set` as one dict. Both forms end up in
the same frozen values here. Pure: stdlib tables (resource, signal) only.
"""

from __future__ import annotations

import re
import resource
from collections.abc import Mapping
from typing import Any

from circus_web_stack.config.kinds import (
    Bool,
    Choice,
    Int,
    InvalidValue,
    Kind,
    Text,
)
from circus_web_stack.config.specs import (
    DEFAULT_IGNORED_HOOKS,
    HOOK_NAMES,
    FrozenMap,
    HookSpec,
    StreamSpec,
)
from circus_web_stack.core.suggest import did_you_mean

# ---- env -------------------------------------------------------------------------------------------

_ENV_NAME = re.compile(r"[^\s=]+")


def parse_env_text(text: str) -> dict[str, str]:
    """Circus's inline form `A=1,B=two` (the deprecated watcher `env` option and `set env`)."""
    env: dict[str, str] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        name, sep, value = pair.partition("=")
        if not sep or not _ENV_NAME.fullmatch(name.strip()):
            raise InvalidValue(f"{pair.strip()!r} is not NAME=VALUE (expected NAME=VALUE,NAME=VALUE)")
        env[name.strip()] = value.strip()
    return env


class Env(Kind):
    """An environment: a mapping of names to values, or the inline text `A=1,B=two`."""

    label = "NAME=VALUE,... or a mapping"

    def parse(self, raw: Any) -> FrozenMap[str, str]:
        if raw is None:
            return FrozenMap()
        if isinstance(raw, str):
            return FrozenMap(parse_env_text(raw))
        if isinstance(raw, Mapping):
            env: dict[str, str] = {}
            for name, value in raw.items():
                if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
                    raise InvalidValue(f"{name!r} is not an environment variable name", key=str(name))
                if isinstance(value, bool) or not isinstance(value, str | int | float):
                    raise InvalidValue(f"the value of {name} must be text, not {value!r}", key=name)
                env[name] = str(value)
            return FrozenMap(env)
        raise self.refuse(raw, "an environment")

    def to_json(self, value: Any) -> Any:
        return dict(value)


# ---- hooks -----------------------------------------------------------------------------------------

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*([.:][A-Za-z_]\w*)")


def check_hook_name(name: str) -> str:
    if name not in HOOK_NAMES:
        hint = did_you_mean(name, HOOK_NAMES)
        raise InvalidValue(f"unknown hook {name!r}{hint} (expected one of {', '.join(HOOK_NAMES)})", key=name)
    return name


def parse_hook(name: str, raw: Any) -> HookSpec:
    """`pkg.mod.func[, ignore_failure]`, or [dotted, ignore_failure] from the API."""
    check_hook_name(name)
    explicit: Any = None
    if isinstance(raw, str):
        dotted, sep, flag = raw.partition(",")
        if sep:
            explicit = flag.strip()
    elif isinstance(raw, list | tuple) and 1 <= len(raw) <= 2:
        dotted = raw[0]
        explicit = raw[1] if len(raw) == 2 else None
    else:
        raise InvalidValue(
            f"{raw!r} is not a hook (expected 'package.module.callable[, true|false]')", key=name
        )
    if not isinstance(dotted, str) or not _DOTTED.fullmatch(dotted.strip()):
        raise InvalidValue(
            f"{dotted!r} is not a dotted path to a callable (expected 'package.module.callable')", key=name
        )
    try:
        ignore = name in DEFAULT_IGNORED_HOOKS if explicit in (None, "") else Bool().parse(explicit)
    except InvalidValue as exc:
        raise InvalidValue(f"ignore_failure: {exc}", key=name) from None
    return HookSpec(name=name, dotted=dotted.strip(), ignore_failure=ignore)


class Hooks(Kind):
    """All hooks of a watcher as one mapping {hook name: 'dotted[, bool]' or [dotted, bool]}."""

    label = "a mapping of hook names to dotted callables"

    def parse(self, raw: Any) -> FrozenMap[str, HookSpec]:
        if raw is None:
            return FrozenMap()
        if not isinstance(raw, Mapping):
            raise self.refuse(raw, "a mapping of hooks")
        return FrozenMap(
            {
                name: value if isinstance(value, HookSpec) else parse_hook(str(name), value)
                for name, value in raw.items()
            }
        )

    def to_json(self, value: Any) -> Any:
        return {name: [spec.dotted, spec.ignore_failure] for name, spec in value.items()}


# ---- rlimits ---------------------------------------------------------------------------------------

RLIMIT_NAMES: tuple[str, ...] = tuple(
    sorted(name[len("RLIMIT_") :].lower() for name in dir(resource) if name.startswith("RLIMIT_"))
)


def check_rlimit_name(name: str) -> str:
    lowered = name.lower()
    if lowered not in RLIMIT_NAMES:
        raise InvalidValue(
            f"unknown resource limit {name!r}{did_you_mean(lowered, RLIMIT_NAMES)}"
            f" (expected one of {', '.join(RLIMIT_NAMES)})",
            key=name,
        )
    return lowered


class RlimitValue(Kind):
    """A resource limit: a whole number, or empty / unlimited / infinity / -1 for RLIM_INFINITY (None)."""

    label = "an integer >= 0, or unlimited"

    def parse(self, raw: Any) -> int | None:
        if raw is None:
            return None
        if isinstance(raw, str) and raw.strip().lower() in ("", "unlimited", "infinity", "-1"):
            return None
        if isinstance(raw, int) and not isinstance(raw, bool) and raw in (-1, resource.RLIM_INFINITY):
            return None
        return Int(0, label=self.label).parse(raw)


class Rlimits(Kind):
    label = "a mapping of limit names to integers or unlimited"

    def parse(self, raw: Any) -> FrozenMap[str, int | None]:
        if raw is None:
            return FrozenMap()
        if not isinstance(raw, Mapping):
            raise self.refuse(raw, "a mapping of resource limits")
        limits: dict[str, int | None] = {}
        for name, value in raw.items():
            key = check_rlimit_name(str(name))
            try:
                limits[key] = RlimitValue().parse(value)
            except InvalidValue as exc:
                raise InvalidValue(str(exc), key=str(name)) from None
        return FrozenMap(limits)

    def to_json(self, value: Any) -> Any:
        return dict(value)


# ---- output streams (PROTOCOL 3.4) -----------------------------------------------------------------

_FILENAME = Text(label="a file path")
_TIME_FORMAT = Text(optional=True, label="a strftime format (empty: no timestamp)")
_ROTATE_WHEN = Choice("S", "M", "H", "D", "midnight", "W0", "W1", "W2", "W3", "W4", "W5", "W6")

# class name -> {keyword: kind}; `filename` is required wherever it appears.
STREAM_CLASSES: dict[str, dict[str, Kind]] = {
    "FileStream": {
        "filename": _FILENAME,
        "max_bytes": Int(0),
        "backup_count": Int(0),
        "time_format": _TIME_FORMAT,
    },
    "WatchedFileStream": {"filename": _FILENAME, "time_format": _TIME_FORMAT},
    "TimedRotatingFileStream": {
        "filename": _FILENAME,
        "backup_count": Int(0),
        "time_format": _TIME_FORMAT,
        "rotate_when": _ROTATE_WHEN,
        "rotate_interval": Int(1),
        "utc": Bool(),
    },
    "StdoutStream": {},
    "FancyStdoutStream": {"color": Text(optional=True), "time_format": _TIME_FORMAT},
    "QueueStream": {},
}

_STREAM_CLASS_BY_LOWER = {name.lower(): name for name in STREAM_CLASSES}


def stream_class_name(raw: Any) -> str:
    """The canonical short name (case-insensitive; `circus.stream.X` accepted) or a dotted path."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidValue(f"{raw!r} is not a stream class (expected one of {', '.join(STREAM_CLASSES)})")
    text = raw.strip()
    short = text.rsplit(".", 1)[-1] if text.startswith("circus.stream.") else text
    if short.lower() in _STREAM_CLASS_BY_LOWER:
        return _STREAM_CLASS_BY_LOWER[short.lower()]
    if "." in text and _DOTTED.fullmatch(text):
        return text
    raise InvalidValue(
        f"unknown stream class {text!r}{did_you_mean(text, STREAM_CLASSES)}"
        f" (expected one of {', '.join(STREAM_CLASSES)}, or a dotted path to a callable)",
        key="class",
    )


def build_stream(options: Mapping[str, Any]) -> tuple[StreamSpec | None, list[tuple[str, str]]]:
    """The stream for the `stdout_stream.*` (or `stderr_stream.*`) keys, minus the prefix.

    Returns the spec (None when there are no keys) and warnings as (key, message). `filename` alone
    means FileStream. Unknown keywords of a built-in class are dropped with a warning, unless they look
    like a typo of a known one, which is refused.
    """
    if not options:
        return None, []
    if "class" in options:
        class_name = stream_class_name(options["class"])
    elif "filename" in options:
        class_name = "FileStream"
    else:
        first = next(iter(options))
        raise InvalidValue("a stream needs 'class' (or 'filename' for a FileStream)", key=first)
    kwargs = {key: value for key, value in options.items() if key != "class"}
    known = STREAM_CLASSES.get(class_name)
    if known is None:  # a user's own callable: its keywords are its business
        return StreamSpec(class_name, kwargs), []
    parsed: dict[str, Any] = {}
    warnings: list[tuple[str, str]] = []
    for key, value in kwargs.items():
        kind = known.get(key)
        if kind is None:
            hint = did_you_mean(key, known)
            if hint:
                raise InvalidValue(f"{class_name} has no option {key!r}{hint}", key=key)
            accepted = ", ".join(known) or "no options"
            warnings.append((key, f"{class_name} does not use {key!r} (it accepts {accepted}); ignored"))
            continue
        try:
            parsed[key] = kind.parse(value)
        except InvalidValue as exc:
            raise InvalidValue(str(exc), key=key) from None
    if "filename" in known and parsed.get("filename") is None:
        raise InvalidValue(f"{class_name} needs a filename", key="filename")
    return StreamSpec(class_name, parsed), warnings


class Stream(Kind):
    """A whole stream as one mapping {'class': ..., keyword: value} (API and `set stdout_stream`)."""

    label = "a mapping with 'class' and its options"

    def parse(self, raw: Any) -> StreamSpec | None:
        if raw is None or raw == {}:
            return None
        if isinstance(raw, StreamSpec):
            return raw
        if not isinstance(raw, Mapping):
            raise self.refuse(raw, "a stream")
        spec, _ = build_stream({str(k): v for k, v in raw.items()})
        return spec

    def to_json(self, value: Any) -> Any:
        if value is None:
            return {}
        return {"class": value.class_name, **dict(value.options)}
