"""[watcher:NAME] builder: its keys and values (ini, API, `add`) -> a validated WatcherConfig; and the
`set` command's one-option change (set_watcher_option).

Shared by the ini loader, the API and the commands, so that they accept and refuse the same things with
the same messages (see sections.py). Options come from options.WATCHER_OPTIONS; prefixed key families
(hooks., rlimit_, stdout_stream., stderr_stream.) are assembled into their composite values here.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from circus_web_stack.config.declaration import Option, with_options
from circus_web_stack.config.families import RlimitValue, build_stream, check_rlimit_name, parse_hook
from circus_web_stack.config.kinds import InvalidValue, Text
from circus_web_stack.config.model import FlappingSpec, WatcherConfig
from circus_web_stack.config.options import (
    WATCHER_OPTIONS,
    Section,
    family_of,
    group_of,
    known_keys,
)
from circus_web_stack.config.sections import Where, unknown_option
from circus_web_stack.config.specs import FrozenMap, StreamSpec
from circus_web_stack.config.substitution import expand_env_vars, referenced_sockets, uses_legacy_wid
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.suggest import did_you_mean

_FAMILY_ATTRIBUTES = ("rlimits", "hooks", "stdout_stream", "stderr_stream")


@dataclass
class _Collected:
    values: dict[str, Any] = field(default_factory=dict)
    families: dict[str, dict[str, Any]] = field(default_factory=lambda: {a: {} for a in _FAMILY_ATTRIBUTES})
    extra: dict[str, str] = field(default_factory=dict)


def _collect_watcher_keys(
    items: Mapping[str, Any], where: Where, *, from_ini: bool, environ: Mapping[str, str]
) -> _Collected:
    got = _Collected()
    for key, raw in items.items():
        option = WATCHER_OPTIONS.get(key)
        family = family_of(key) if option is None else None
        if key == "name":
            if from_ini:
                raise where.error("a watcher's name comes from its section header [watcher:NAME]", key)
        elif option is not None and option.obsolete:
            where.parse(option, raw)
            where.warn(f"has no effect: {option.obsolete}", key)
            got.extra[key] = str(raw)
        elif option is not None and from_ini and not option.in_ini:
            family_hint = {"rlimits": "rlimit_<name>"}.get(key, f"{key}.<name>")
            raise where.error(f"set this one key at a time in the ini: {family_hint} = ...", key)
        elif option is not None and key == "env":
            got.values["env"] = _parse_env_option(raw, where, from_ini=from_ini, environ=environ)
        elif option is not None:
            got.values[key] = where.parse(option, raw)
        elif family is not None:
            got.families[family.attribute][key[len(family.prefix) :]] = raw
        elif group_of(key) is not None:  # flapping.<typo>: never a free-form key
            raise unknown_option(where, key, Section.WATCHER)
        else:
            hint = did_you_mean(key, known_keys(Section.WATCHER))
            if hint:  # a misspelt option, not a plugin's free-form key
                raise where.error(f"unknown option{hint}", key)
            got.extra[key] = raw if isinstance(raw, str) else str(raw)
            where.warn(
                "not an option of circus-web-stack; kept as a free-form value for `options`/`get`", key
            )
    return got


def _parse_env_option(
    raw: Any, where: Where, *, from_ini: bool, environ: Mapping[str, str]
) -> FrozenMap[str, str]:
    if from_ini:
        where.warn("the env option is deprecated; use an [env:NAME] section", "env")
    env = where.parse(WATCHER_OPTIONS["env"], raw)
    if not isinstance(raw, str):  # a mapping from Python code is taken literally
        return env
    return FrozenMap({name: _expand(value, where, "env", environ) for name, value in env.items()})


def _expand(value: str, where: Where, option: str, environ: Mapping[str, str]) -> str:
    expanded, missing = expand_env_vars(value, environ)
    for name in missing:
        where.warn(f"${name} is not set in the environment; it expands to nothing", option)
    return expanded


def _family_error(where: Where, prefix: str, exc: InvalidValue) -> ConfigError:
    option = prefix + exc.key if exc.key else prefix.rstrip("._")
    return where.error(str(exc), option, prefix=prefix)


def _build_families(got: _Collected, where: Where) -> dict[str, Any]:
    built: dict[str, Any] = {}
    limits = dict(got.values.pop("rlimits", {}))
    for sub, raw in got.families["rlimits"].items():
        try:
            limits[check_rlimit_name(sub)] = RlimitValue().parse(raw)
        except InvalidValue as exc:
            raise where.error(str(exc), "rlimit_" + sub) from None
    built["rlimits"] = FrozenMap(limits)
    hooks = dict(got.values.pop("hooks", {}))
    for sub, raw in got.families["hooks"].items():
        try:
            hooks[sub] = parse_hook(sub, raw)
        except InvalidValue as exc:
            raise _family_error(where, "hooks.", exc) from None
    built["hooks"] = FrozenMap(hooks)
    for stream in ("stdout_stream", "stderr_stream"):
        whole: StreamSpec | None = got.values.pop(stream, None)
        keys = got.families[stream]
        if not keys:
            built[stream] = whole
            continue
        base = {"class": whole.class_name, **whole.options} if whole else {}
        try:
            spec, notes = build_stream({**base, **keys})
        except InvalidValue as exc:
            raise _family_error(where, stream + ".", exc) from None
        for sub, message in notes:
            where.warn(message, f"{stream}.{sub}")
        built[stream] = spec
    return built


def _primary_gid(uid: int) -> int | None:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return None


def _check_watcher(cfg: WatcherConfig, where: Where, sockets: Collection[str] | None) -> None:
    """Rules across options; `sockets` (names) enables the check of socket references."""
    if cfg.singleton and cfg.numprocesses > 1:
        raise where.error(
            f"a singleton runs at most one process, not {cfg.numprocesses} (use 0 or 1)", "numprocesses"
        )
    if cfg.copy_path and not cfg.copy_env:
        raise where.error("copy_path needs copy_env = true", "copy_path")
    if cfg.virtualenv and not cfg.copy_env:
        raise where.error("virtualenv needs copy_env = true", "virtualenv")
    for option, text in (("cmd", cfg.cmd), *(("args", arg) for arg in cfg.args)):
        if uses_legacy_wid(text):
            raise where.error("$WID was removed; write $(circus.wid) (or ((circus.wid)))", option)
    if sockets is not None:
        known = {name.lower() for name in sockets}
        for name in sorted(cfg.referenced_sockets() - known):
            if name in referenced_sockets(cfg.cmd):
                option = "cmd"
            elif cfg.stdin_socket and cfg.stdin_socket.lower() == name:
                option = "stdin_socket"
            else:
                option = "args"
            defined = ", ".join(sorted(known)) or "none"
            raise where.error(
                f"uses socket {name!r}, which is not defined (defined sockets: {defined})", option
            )


def _warn_watcher(cfg: WatcherConfig, where: Where) -> None:
    if cfg.numprocesses == 0 and not cfg.singleton:
        where.warn("0 processes: the watcher starts none until incr", "numprocesses")
    if cfg.shell_args and not cfg.shell:
        where.warn("has no effect unless shell = true", "shell_args")
    referenced = cfg.referenced_sockets() - ({cfg.stdin_socket.lower()} if cfg.stdin_socket else set())
    if referenced and not cfg.use_sockets:
        names = ", ".join(sorted(referenced))
        where.warn(
            f"cmd uses socket(s) {names} but use_sockets is false, so the processes cannot inherit them; "
            "set use_sockets = true",
            "use_sockets",
        )


def build_watcher(
    name: str,
    items: Mapping[str, Any],
    where: Where,
    *,
    from_ini: bool,
    section_env: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    sockets: Collection[str] | None = None,
    flapping_defaults: FlappingSpec | None = None,
) -> WatcherConfig:
    """The watcher `name` from its keys. `section_env` is the already expanded [env] + [env:...] of the
    ini, applied over the (deprecated) env option; `environ` serves $VAR expansion."""
    environ = os.environ if environ is None else environ
    got = _collect_watcher_keys(items, where, from_ini=from_ini, environ=environ)
    if "cmd" not in got.values:
        raise where.error("required option missing (the program to run)", "cmd")
    if section_env:
        got.values["env"] = FrozenMap({**got.values.get("env", {}), **section_env})
    values = {**got.values, **_build_families(got, where)}
    if values.get("uid") is not None and values.get("gid") is None:
        values["gid"] = _primary_gid(values["uid"])
        if values["gid"] is None:
            raise where.error(
                f"uid {values['uid']} has no entry in the user database, so its group is unknown; set gid",
                "uid",
            )
    base = WatcherConfig(name=name, flapping=flapping_defaults or FlappingSpec(), extra=FrozenMap(got.extra))
    cfg = with_options(base, values)
    _check_watcher(cfg, where, sockets)
    _warn_watcher(cfg, where)
    return cfg


def parse_watcher(
    name: str,
    options: Mapping[str, Any],
    *,
    source: str = "<api>",
    global_env: Mapping[str, str] | None = None,
    sockets: Collection[str] | None = None,
    flapping_defaults: FlappingSpec | None = None,
    warnings: list[str] | None = None,
) -> WatcherConfig:
    """A watcher from a mapping of options (the Python API, the `add` command). Values may be ini text or
    native Python (4, True, a list of args, a dict of env/hooks/rlimits/stream). `global_env` is the
    environment `$VAR` in a text env (`A=$HOME,B=1`) expands from; default os.environ. With `sockets`
    (the defined socket names), references to undefined sockets are refused. Warnings (free-form keys,
    0 processes, ...) are appended to `warnings` when given."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{name!r} is not a watcher name (expected non-empty text)", path=source)
    where = Where(source, f"watcher:{name}", warnings=[] if warnings is None else warnings)
    items = {str(k).lower(): v for k, v in options.items()}
    if "name" in items and str(items.pop("name")) != name:
        raise where.error("differs from the watcher's name", "name")
    return build_watcher(
        name,
        items,
        where,
        from_ini=False,
        environ=global_env,
        sockets=sockets,
        flapping_defaults=flapping_defaults,
    )


# ---- set -------------------------------------------------------------------------------------------


def set_watcher_option(cfg: WatcherConfig, key: str, value: Any) -> WatcherConfig:
    """A copy of `cfg` with one option changed, validated by the table as `set` needs (PROTOCOL 1.6).

    `key` is an option name (flapping.attempts among them) or a family key (hooks.before_start,
    rlimit_nofile, stdout_stream.filename). Whether a command may set it is `options.is_settable(key)`,
    checked by the command layer; whether it needs a rolling reload is `options.needs_reload(key)`.
    """
    where = Where(None, f"watcher:{cfg.name}")
    key = key.lower()
    option = WATCHER_OPTIONS.get(key)
    family = family_of(key) if option is None else None
    if key == "name":
        raise where.error("a watcher cannot be renamed; rm it and add it again", key)
    if option is not None and option.obsolete:
        raise where.error(f"has no effect: {option.obsolete}", key)
    if option is not None:
        changes = {key: _parse_for_set(option, value, where)}
        if key == "uid" and changes["uid"] is not None and cfg.gid in (None, _primary_gid_or_none(cfg.uid)):
            changes["gid"] = _primary_gid(changes["uid"])
    elif family is not None:
        changes = {
            family.attribute: _set_family_value(
                cfg, family.attribute, key[len(family.prefix) :], value, where
            )
        }
    else:
        raise unknown_option(where, key, Section.WATCHER)
    new = with_options(cfg, changes)
    _check_watcher(new, where, None)
    return new


def _primary_gid_or_none(uid: int | None) -> int | None:
    return None if uid is None else _primary_gid(uid)


def _parse_for_set(option: Option, value: Any, where: Where) -> Any:
    if option.name == "env" and isinstance(value, str):
        return _parse_env_option(value, where, from_ini=False, environ=os.environ)
    if option.name == "cmd" and not isinstance(value, str):
        raise where.error(f"{value!r} is not a command (expected {Text().label})", "cmd")
    return where.parse(option, value)


def _set_family_value(cfg: WatcherConfig, attribute: str, sub: str, value: Any, where: Where) -> Any:
    option = f"{'rlimit_' if attribute == 'rlimits' else attribute + '.'}{sub}"
    try:
        if attribute == "rlimits":
            return FrozenMap({**cfg.rlimits, check_rlimit_name(sub): RlimitValue().parse(value)})
        if attribute == "hooks":
            return FrozenMap({**cfg.hooks, sub: parse_hook(sub, value)})
        current: StreamSpec | None = getattr(cfg, attribute)
        base = {"class": current.class_name, **current.options} if current else {}
        spec, _ = build_stream({**base, sub: value})
        return spec
    except InvalidValue as exc:
        raise where.error(str(exc), option) from None


__all__ = ["build_watcher", "parse_watcher", "set_watcher_option"]
