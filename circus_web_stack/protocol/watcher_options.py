"""The watcher options `add` and `set` accept on the wire: which keys, which JSON types, and how
circusctl turns a typed-in string into that type.

Rule: this is the wire contract only (Circus's `validate_option` whitelist plus our additions);
what an option means and its default belong to the config layer's option table.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from circus_web_stack.core.errors import ClientError
from circus_web_stack.protocol.signals import signal_number


class OptionType(StrEnum):
    INT = "integer"
    NUMBER = "number"
    BOOL = "boolean"
    STR = "string"
    INT_OR_STR = "integer or string"
    SIGNAL = "signal name or number"
    ARGS = "string or list of strings"
    ENV = "object of strings"
    STREAM = "object with a 'class' key"
    HOOKS = "object of hook name to dotted callable"
    RLIMIT = "integer or empty string (unlimited)"


@dataclass(frozen=True)
class WireOption:
    name: str
    type: OptionType
    doc: str
    settable: bool = True  # accepted by `set`; every option is accepted by `add`
    circus: bool = True  # Circus 0.19 accepts it too; False marks our additions


HOOK_NAMES = (
    "before_start",
    "after_start",
    "before_spawn",
    "after_spawn",
    "before_stop",
    "after_stop",
    "before_signal",
    "after_signal",
    "before_reap",
    "after_reap",
    "extended_stats",
)

_T = OptionType
WATCHER_OPTIONS: tuple[WireOption, ...] = (
    WireOption("cmd", _T.STR, "the command to run"),
    WireOption("args", _T.ARGS, "arguments appended to cmd"),
    WireOption("numprocesses", _T.INT, "number of processes to keep running"),
    WireOption("warmup_delay", _T.NUMBER, "seconds between two spawns"),
    WireOption("working_dir", _T.STR, "directory the processes run in"),
    WireOption("uid", _T.INT_OR_STR, "user the processes run as"),
    WireOption("gid", _T.INT_OR_STR, "group the processes run as"),
    WireOption("send_hup", _T.BOOL, "reload sends SIGHUP instead of replacing processes"),
    WireOption("stop_signal", _T.SIGNAL, "signal sent to stop a process"),
    WireOption("stop_children", _T.BOOL, "also send the stop signal to the process's children"),
    WireOption("shell", _T.BOOL, "run cmd through the shell"),
    WireOption("env", _T.ENV, "environment variables of the processes"),
    WireOption("copy_env", _T.BOOL, "start from the daemon's environment"),
    WireOption("retry_in", _T.NUMBER, "seconds to wait before retrying a flapping watcher"),
    WireOption("max_retry", _T.INT, "spawn attempts before giving up (-1: forever)"),
    WireOption("graceful_timeout", _T.NUMBER, "seconds between the stop signal and SIGKILL"),
    WireOption("stdout_stream", _T.STREAM, "where stdout goes"),
    WireOption("stderr_stream", _T.STREAM, "where stderr goes"),
    WireOption("max_age", _T.INT, "recycle a process after this many seconds (0: never)"),
    WireOption("max_age_variance", _T.INT, "random extra seconds added to max_age"),
    WireOption("respawn", _T.BOOL, "replace processes that exit"),
    WireOption("singleton", _T.BOOL, "at most one process"),
    WireOption("hooks", _T.HOOKS, "hook name to dotted callable"),
    WireOption("close_child_stdin", _T.BOOL, "give the processes /dev/null as stdin"),
    WireOption("close_child_stdout", _T.BOOL, "send the processes' stdout to /dev/null"),
    WireOption("close_child_stderr", _T.BOOL, "send the processes' stderr to /dev/null"),
    # Our additions: Circus refuses these in `add`, so a watcher added at run time could not use the
    # daemon's sockets (circus PROTOCOL 1.6). They are fixed for a watcher's life, hence add-only.
    *(
        WireOption(name, kind, doc, settable=False, circus=False)
        for name, kind, doc in (
            ("use_sockets", _T.BOOL, "processes inherit the daemon's sockets"),
            ("priority", _T.INT, "higher starts first and stops last"),
            ("autostart", _T.BOOL, "start with the daemon"),
            ("copy_path", _T.BOOL, "pass sys.path as PYTHONPATH"),
            ("virtualenv", _T.STR, "virtualenv whose site-packages are used"),
            ("virtualenv_py_ver", _T.STR, "Python version of that virtualenv"),
            ("executable", _T.STR, "argv0 override"),
            ("shell_args", _T.STR, "arguments given to the shell"),
        )
    ),
)

OPTIONS_BY_NAME: Mapping[str, WireOption] = {o.name: o for o in WATCHER_OPTIONS}

# Families of keys: `stdout_stream.filename`, `hooks.after_spawn`, `rlimit_nofile`.
STREAM_PREFIXES = ("stdout_stream.", "stderr_stream.")
HOOK_PREFIX = "hooks."
RLIMIT_PREFIX = "rlimit_"
_STREAM_INT_KEYS = frozenset({"max_bytes", "backup_count", "rotate_interval"})

_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "n", ""})


def option_type(key: str) -> OptionType:
    """The wire type of `key`; ClientError (errno 3) naming the key if it is not an option."""
    option = OPTIONS_BY_NAME.get(key)
    if option is not None:
        return option.type
    if key.startswith(STREAM_PREFIXES):
        return _T.INT if key.split(".", 1)[1] in _STREAM_INT_KEYS else _T.STR
    if key.startswith(HOOK_PREFIX):
        hook = key[len(HOOK_PREFIX) :]
        if hook not in HOOK_NAMES:
            raise ClientError(f"unknown hook {hook!r} in {key!r}; valid hooks: {', '.join(HOOK_NAMES)}")
        return _T.STR
    if key.startswith(RLIMIT_PREFIX) and len(key) > len(RLIMIT_PREFIX):
        return _T.RLIMIT
    raise ClientError(f"unknown key {key!r}{_suggestion(key)}")


def validate_options(options: object, *, for_command: str) -> dict[str, object]:
    """Check an `options` object of `add` or `set`; returns it with signals and booleans normalized.

    Messages follow Circus's (`unknown key 'x'`, `'numprocesses' isn't an integer`), with a suggestion.
    """
    if not isinstance(options, dict):
        raise ClientError(f"message invalid: 'options' of {for_command} must be an object")
    normalized: dict[str, object] = {}
    for key, value in options.items():
        kind = option_type(key)
        option = OPTIONS_BY_NAME.get(key)
        if for_command == "set" and option is not None and not option.settable:
            raise ClientError(
                f"{key!r} cannot be changed on a running watcher; remove and add the watcher instead"
            )
        normalized[key] = _check_value(key, kind, value)
    return normalized


def option_from_text(key: str, text: str) -> object:
    """circusctl's conversion of `set web numprocesses 3` style values into the wire type of `key`."""
    kind = option_type(key)
    try:
        if kind is _T.INT:
            return int(text)
        if kind is _T.NUMBER:
            return float(text)
        if kind is _T.BOOL:
            return _bool_from_text(text)
        if kind is _T.INT_OR_STR:
            return int(text) if text.strip().lstrip("-").isdigit() else text
        if kind is _T.RLIMIT:
            return "" if text.strip() == "" else int(text)
        if kind is _T.ENV:
            return _env_from_text(text)
        if kind is _T.HOOKS:
            return _hooks_from_text(text)
        if kind is _T.ARGS:
            return shlex.split(text)
        if kind is _T.STREAM:
            raise ValueError("give its fields one by one, e.g. stdout_stream.filename /var/log/web.log")
    except ValueError as exc:
        raise ClientError(f"{key}: {text!r} is not a valid {kind.value} ({exc})") from None
    return text


def _check_value(key: str, kind: OptionType, value: object) -> object:
    if kind is _T.INT and not _is_int(value):
        raise ClientError(f"{key!r} isn't an integer")
    if kind is _T.NUMBER and not (_is_int(value) or isinstance(value, float)):
        raise ClientError(f"{key!r} isn't a number")
    if kind is _T.BOOL:
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return _bool_from_text(value)
        if not isinstance(value, bool):
            raise ClientError(f"{key!r} isn't a valid boolean")
    if kind is _T.STR and not isinstance(value, str):
        raise ClientError(f"{key!r} isn't a string")
    if kind is _T.INT_OR_STR and not (_is_int(value) or isinstance(value, str)):
        raise ClientError(f"{key!r} isn't an integer or string")
    if kind is _T.RLIMIT and not (_is_int(value) or value == ""):
        raise ClientError(f"{key!r} isn't an integer or empty string")
    if kind is _T.SIGNAL:
        try:
            return signal_number(value)
        except ValueError as exc:
            raise ClientError(f"{key!r}: {exc}") from None
    if kind is _T.ARGS and not (
        isinstance(value, str) or (isinstance(value, list) and all(isinstance(a, str) for a in value))
    ):
        raise ClientError(f"{key!r} isn't a string or a list of strings")
    if kind is _T.ENV:
        if not isinstance(value, dict):
            raise ClientError(f"{key!r} isn't a valid object")
        for name, item in value.items():
            if not isinstance(item, str):
                raise ClientError(f"{name!r} isn't a string (in {key!r})")
    if kind is _T.STREAM and not (isinstance(value, dict) and "class" in value):
        raise ClientError(f"{key!r} must be an object with a 'class' key")
    if kind is _T.HOOKS:
        if not isinstance(value, dict):
            raise ClientError(f"{key!r} isn't a valid hook dict")
        for hook, target in value.items():
            if hook not in HOOK_NAMES:
                raise ClientError(f"unknown hook {hook!r}; valid hooks: {', '.join(HOOK_NAMES)}")
            if not isinstance(target, str):
                raise ClientError(f"hook {hook!r} must be a dotted name string")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bool_from_text(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("expected true or false")


def _env_from_text(text: str) -> dict[str, str]:
    # Circus's syntax: KEY=VALUE pairs separated by commas.
    env: dict[str, str] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected KEY=VALUE, got {pair!r}")
        env[name.strip()] = value
    return env


def _hooks_from_text(text: str) -> dict[str, str]:
    # Circus's syntax: hook:dotted.name pairs separated by commas.
    hooks: dict[str, str] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        hook, sep, target = pair.partition(":")
        if not sep or hook.strip() not in HOOK_NAMES:
            raise ValueError(f"expected hook:dotted.name with a hook among {', '.join(HOOK_NAMES)}")
        hooks[hook.strip()] = target.strip()
    return hooks


def _suggestion(key: str) -> str:
    close = difflib.get_close_matches(key, list(OPTIONS_BY_NAME), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
