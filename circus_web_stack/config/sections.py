"""Builders: one section's keys and values (from the ini or the API) -> a validated, frozen config object.

The ini loader and the API share these, so `[watcher:web]` in a file, `get_arbiter([{...}])` and the `add`
and `set` commands accept and refuse exactly the same things, with the same messages. Every refusal is a
ConfigError naming the source, line (when there is one), section, option, the bad value and what is valid.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from circus_web_stack.config.endpoints import is_network_reachable
from circus_web_stack.config.families import (
    RlimitValue,
    build_flapping,
    build_stream,
    check_rlimit_name,
    parse_hook,
)
from circus_web_stack.config.kinds import InvalidValue, Text
from circus_web_stack.config.model import (
    DaemonConfig,
    PluginConfig,
    SocketConfig,
    WatcherConfig,
)
from circus_web_stack.config.options import (
    DAEMON_OPTIONS,
    PLUGIN_OPTIONS,
    SOCKET_OPTIONS,
    WATCHER_OPTIONS,
    Option,
    Section,
    family_of,
    known_keys,
)
from circus_web_stack.config.specs import FlappingSpec, FrozenMap, StreamSpec
from circus_web_stack.config.substitution import expand_env_vars, referenced_sockets, uses_legacy_wid
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.suggest import did_you_mean


@dataclass
class Where:
    """Where a section's values came from, for error messages and warnings: the section header's file
    and line, and each option's own (path, line), which may be an included file."""

    path: str | None
    section: str
    header_line: int | None = None
    locations: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str, option: str | None = None, *, prefix: str = "") -> ConfigError:
        """The error at `option`'s line; for an option that is missing, at the first key starting with
        `prefix` (stdout_stream.filename missing: the stdout_stream.class line), else the header."""
        path, line = self.path, self.header_line
        near = (
            option
            if option in self.locations
            else next((k for k in self.locations if prefix and k.startswith(prefix)), None)
        )
        if near is not None:
            path, line = self.locations[near]
        return ConfigError(message, path=path, line=line, section=self.section, option=option)

    def warn(self, message: str, option: str | None = None) -> None:
        self.warnings.append(str(self.error(message, option)))

    def parse(self, option: Option, raw: Any) -> Any:
        try:
            return option.kind.parse(raw)
        except InvalidValue as exc:
            raise self.error(str(exc), option.name) from None


def _unknown(where: Where, key: str, section: Section) -> ConfigError:
    hint = did_you_mean(key, known_keys(section))
    if hint:
        return where.error(f"unknown option{hint}", key)
    valid = ", ".join(known_keys(section)) if section is not Section.WATCHER else "see docs/options.md"
    return where.error(f"unknown option (valid: {valid})", key)


def _strict_section(
    items: Mapping[str, Any], where: Where, table: Mapping[str, Option], section: Section
) -> dict[str, Any]:
    """Parsed values of a section that accepts only its table's options (daemon, socket)."""
    values: dict[str, Any] = {}
    for key, raw in items.items():
        option = table.get(key)
        if option is None:
            raise _unknown(where, key, section)
        value = where.parse(option, raw)
        if option.obsolete:
            where.warn(f"has no effect: {option.obsolete}", key)
        elif option.stored:
            values[key] = value
    return values


# ---- [circus] --------------------------------------------------------------------------------------

_NETWORK_ENDPOINTS = ("endpoint", "pubsub_endpoint", "stats_endpoint")


def build_daemon(items: Mapping[str, Any], where: Where) -> DaemonConfig:
    values = _strict_section(items, where, DAEMON_OPTIONS, Section.DAEMON)
    if values.get("stats_endpoint") and not values.get("statsd"):
        if "statsd" in values:
            raise where.error("stats_endpoint is set but statsd = false; remove one of them", "statsd")
        values["statsd"] = True
        where.warn("setting stats_endpoint turns statsd on (statsd = true)", "stats_endpoint")
    protected = values.get("insecure") or values.get("curve_secret_key_file")
    for name in _NETWORK_ENDPOINTS:
        endpoint = values.get(name)
        if endpoint and is_network_reachable(endpoint) and not protected:
            raise where.error(
                f"{endpoint!r} accepts connections from other hosts, and the control protocol has no "
                "authentication of its own; bind it to 127.0.0.1 or an ipc:// path, set "
                "curve_secret_key_file (CurveZMQ), or set insecure = true to accept the risk",
                name,
            )
    owner = values.get("endpoint_owner")
    if owner and (values.get("endpoint") or "").startswith("tcp://"):
        where.warn(
            "has no effect on a tcp:// endpoint (it changes the owner of an ipc:// socket file)",
            "endpoint_owner",
        )
    return DaemonConfig(**values)


def parse_daemon(options: Mapping[str, Any], *, source: str = "<api>") -> DaemonConfig:
    """DaemonConfig from a mapping of [circus] options (the API's keyword arguments)."""
    return build_daemon({k.lower(): v for k, v in options.items()}, Where(source, "circus"))


# ---- [socket:NAME] ---------------------------------------------------------------------------------


def build_socket(name: str, items: Mapping[str, Any], where: Where) -> SocketConfig:
    values = _strict_section(items, where, SOCKET_OPTIONS, Section.SOCKET)
    if values.get("path"):
        if "family" in values and values["family"] != "AF_UNIX":
            raise where.error(f"{values['family']} conflicts with path (a path means AF_UNIX)", "family")
        values["family"] = "AF_UNIX"
    elif values.get("family") == "AF_UNIX":
        raise where.error("AF_UNIX needs a path (path = /run/app.sock)", "family")
    return SocketConfig(name=name.lower(), **values)


def parse_socket(name: str, options: Mapping[str, Any], *, source: str = "<api>") -> SocketConfig:
    """SocketConfig from a mapping of [socket:NAME] options (the API)."""
    items = {k.lower(): v for k, v in options.items() if k.lower() != "name"}
    return build_socket(name, items, Where(source, f"socket:{name.lower()}"))


# ---- [plugin:NAME] ---------------------------------------------------------------------------------


def build_plugin(name: str, items: Mapping[str, Any], where: Where) -> PluginConfig:
    """`name` is the bare name; the plugin's watcher is called `plugin:<name>`."""
    if "use" not in items:
        raise where.error("required option missing (use = dotted.path.to.PluginClass)", "use")
    use = where.parse(PLUGIN_OPTIONS["use"], items["use"])
    options = {key: str(value) for key, value in items.items() if key != "use"}
    watcher_options: dict[str, str] = {}
    for key, raw in options.items():
        option = WATCHER_OPTIONS.get(key)
        if option is not None and option.stored and option.in_ini:
            where.parse(option, raw)
            watcher_options[key] = raw
        elif family_of(key) is not None:
            watcher_options[key] = raw
    return PluginConfig(name=f"plugin:{name}", use=use, options=options, watcher_options=watcher_options)


# ---- [watcher:NAME] --------------------------------------------------------------------------------

_FAMILY_ATTRIBUTES = ("rlimits", "hooks", "stdout_stream", "stderr_stream", "flapping")


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


def _build_families(got: _Collected, where: Where, flapping_defaults: FlappingSpec) -> dict[str, Any]:
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
    try:
        built["flapping"] = build_flapping(got.families["flapping"], flapping_defaults)
    except InvalidValue as exc:
        raise _family_error(where, "flapping.", exc) from None
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
    values = {**got.values, **_build_families(got, where, flapping_defaults or FlappingSpec())}
    if values.get("uid") is not None and values.get("gid") is None:
        values["gid"] = _primary_gid(values["uid"])
        if values["gid"] is None:
            raise where.error(
                f"uid {values['uid']} has no entry in the user database, so its group is unknown; set gid",
                "uid",
            )
    cfg = WatcherConfig(name=name, extra=FrozenMap(got.extra), **values)
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

    `key` is an option name or a family key (hooks.before_start, rlimit_nofile, stdout_stream.filename,
    flapping.attempts). Whether a command may set it is `options.is_settable(key)`, checked by the
    command layer; whether it needs a rolling reload is `options.needs_reload(key)`.
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
        raise _unknown(where, key, Section.WATCHER)
    new = replace(cfg, **changes)
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
        if attribute == "flapping":
            return build_flapping({sub: value}, cfg.flapping)
        current: StreamSpec | None = getattr(cfg, attribute)
        base = {"class": current.class_name, **current.options} if current else {}
        spec, _ = build_stream({**base, sub: value})
        return spec
    except InvalidValue as exc:
        raise where.error(str(exc), option) from None


__all__ = [
    "Where",
    "build_daemon",
    "build_plugin",
    "build_socket",
    "build_watcher",
    "parse_daemon",
    "parse_socket",
    "parse_watcher",
    "set_watcher_option",
]
