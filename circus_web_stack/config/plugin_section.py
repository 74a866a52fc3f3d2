"""[plugin:NAME] builder: a section's keys -> a validated PluginConfig and the watcher `plugin:NAME` that
runs it (singleton, priority 1, copy_env and copy_path, as Circus runs plugins).

Rules: keys that are watcher options configure the plugin's process; every other key is passed to the
plugin as text, as Circus passes it. A shipped plugin declares its options once, as the fields of a
dataclass (its class's `options_model`), so its keys are checked here, at load, with file and line: a
bad value is an error, a key it does not have a warning that it has no effect. Circus's Flapping runs
no process: its section sets the defaults of the flapping built into every watcher.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from circus_web_stack.config.declaration import Option, declared_options
from circus_web_stack.config.kinds import InvalidValue
from circus_web_stack.config.model import Config, DaemonConfig, FlappingSpec, PluginConfig, WatcherConfig
from circus_web_stack.config.options import PLUGIN_OPTIONS, WATCHER_OPTIONS, family_of, group_of
from circus_web_stack.config.plugin_use import is_builtin_flapping, load_plugin_class, plugin_target
from circus_web_stack.config.sections import Where
from circus_web_stack.config.watcher_section import build_watcher
from circus_web_stack.core.suggest import did_you_mean

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

M = TypeVar("M", bound="DataclassInstance")

# What runs a plugin: `python -m <this> --endpoint E --pubsub P ... CLASS` (also the `circus-plugin`
# console script).
PLUGIN_RUNNER_MODULE = "circus_web_stack.cli.circus_plugin"
# The watcher options Circus gives a plugin's process; the section's own watcher options override them.
PLUGIN_WATCHER_DEFAULTS: Mapping[str, Any] = {
    "singleton": True,
    "priority": 1,
    "copy_env": True,
    "copy_path": True,
}
_RUNNER_KEYS = ("cmd", "args", "executable", "shell", "shell_args")


def _is_watcher_key(key: str) -> bool:
    option = WATCHER_OPTIONS.get(key)
    if option is not None:
        return option.in_ini
    return family_of(key) is not None or group_of(key) is not None


def plugin_option_table(model: type) -> Mapping[str, Option]:
    """The options a plugin's options_model declares, by name."""
    return declared_options(model)


def parse_plugin_options(model: type[M], values: Mapping[str, Any], where: Where) -> M:
    """The model filled from a plugin's keys (text as Circus passes them, or native values), each
    parsed by its option's kind; keys the model does not declare are ignored here (the loader warns
    about them). The model's `check()`, when it has one, refuses combinations (InvalidValue(key=))."""
    table = plugin_option_table(model)
    parsed = {name: where.parse(opt, values[name]) for name, opt in table.items() if name in values}
    instance = model(**parsed)
    check = getattr(instance, "check", None)
    if check is not None:
        try:
            check()
        except InvalidValue as exc:
            raise where.error(str(exc), exc.key) from None
    return instance


def _check_plugin_keys(cls: type, keys: Mapping[str, str], where: Where) -> None:
    """Warn about keys a shipped plugin does not have (and refuse one that is a near miss of one it
    has); for a third-party plugin, warn only about near misses of watcher options."""
    model = getattr(cls, "options_model", None)
    watcher_keys = [k for k, o in WATCHER_OPTIONS.items() if o.in_ini and not o.obsolete]
    if model is None:
        for key in keys:
            hint = did_you_mean(key, watcher_keys)
            if hint:
                where.warn(f"passed to the plugin, not to its process{hint}", key)
        return
    table = plugin_option_table(model)
    for key in keys:
        if key in table:
            continue
        hint = did_you_mean(key, [*table, *watcher_keys])
        if hint:
            raise where.error(f"unknown option of {cls.__name__}{hint}", key)
        where.warn(
            f"has no effect: {cls.__name__} has no option {key!r} (its options: {', '.join(table)})", key
        )
    parse_plugin_options(model, keys, where)


def _flapping_section(name: str, use: str, items: Mapping[str, Any], where: Where) -> PluginConfig:
    """Circus's Flapping: its keys are the built-in flapping's defaults; nothing runs."""
    members = {f.name for f in dataclasses.fields(FlappingSpec)}
    values: dict[str, Any] = {}
    for key, raw in items.items():
        if key == "use":
            continue
        if key in members:
            values[key] = where.parse(replace(WATCHER_OPTIONS[f"flapping.{key}"], name=key), raw)
        elif key == "active":
            if not where.parse(PLUGIN_OPTIONS["active"], raw):
                where.warn(
                    "has no effect: flapping is built into every watcher and cannot be switched off "
                    "(set flapping.max_retry per watcher to bound it)",
                    key,
                )
        else:
            hint = did_you_mean(key, sorted(members))
            if hint:
                raise where.error(f"unknown flapping option{hint}", key)
            where.warn(
                "has no effect: this section configures the flapping built into every watcher and runs "
                f"no process; only {', '.join(sorted(members))} apply",
                key,
            )
    return PluginConfig(
        name=f"plugin:{name}",
        use=use,
        target="(built in)",
        options={k: str(v) for k, v in items.items() if k != "use"},
        flapping=replace(FlappingSpec(), **values),
    )


def _runner_args(target: str, passed: Mapping[str, str], daemon: DaemonConfig) -> list[str]:
    args = ["-m", PLUGIN_RUNNER_MODULE, "--check-delay", repr(daemon.check_delay)]
    args += ["--log-level", daemon.loglevel]
    if daemon.curve_secret_key_file:
        args += ["--curve-key-file", daemon.curve_secret_key_file]
    if passed:  # JSON, not Circus's k:v:::k:v, which a value containing ':::' breaks
        args += ["--config-json", json.dumps(dict(passed), sort_keys=True)]
    return [*args, target]


def build_plugin(
    name: str,
    items: Mapping[str, Any],
    where: Where,
    *,
    daemon: DaemonConfig,
    sockets: list[str],
    flapping_defaults: FlappingSpec | None = None,
) -> PluginConfig:
    """`name` is the bare name; the plugin's watcher is called `plugin:<name>`. Imports the class."""
    if "use" not in items:
        raise where.error("required option missing (use = dotted.path.to.PluginClass)", "use")
    use = where.parse(PLUGIN_OPTIONS["use"], items["use"])
    if is_builtin_flapping(use):
        return _flapping_section(name, use, items, where)
    try:
        cls = load_plugin_class(use)
    except InvalidValue as exc:
        raise where.error(str(exc), "use") from None
    active = where.parse(PLUGIN_OPTIONS["active"], items.get("active", True))
    watcher_items: dict[str, Any] = {}
    passed: dict[str, str] = {}
    for key, raw in items.items():
        if key in ("use", "active"):
            continue
        if key in _RUNNER_KEYS:
            raise where.error(f"a plugin's process runs the plugin; {key} cannot be set here", key)
        if _is_watcher_key(key):
            watcher_items[key] = raw
        else:
            passed[key] = str(raw)
    _check_plugin_keys(cls, passed, where)
    target = plugin_target(use)
    watcher = None
    if active:
        run = {
            **PLUGIN_WATCHER_DEFAULTS,
            **watcher_items,
            "cmd": shlex.quote(sys.executable),
            "args": _runner_args(target, passed, daemon),
        }
        watcher = build_watcher(
            f"plugin:{name}",
            run,
            where,
            from_ini=False,
            sockets=sockets,
            flapping_defaults=flapping_defaults,
        )
    return PluginConfig(
        name=f"plugin:{name}",
        use=use,
        active=active,
        target=target,
        options=passed,
        watcher_options={k: str(v) for k, v in watcher_items.items()},
        watcher=watcher,
    )


def plugin_endpoint_args(endpoints: Mapping[str, str]) -> tuple[str, ...]:
    return ("--endpoint", endpoints["control"], "--pubsub", endpoints["pubsub"])


def with_plugin_watchers(config: Config, endpoints: Mapping[str, str]) -> Config:
    """The config with each plugin's watcher among its watchers, told the daemon's endpoints (keys
    control and pubsub, as the runtime resolved them). Pure; apply it once per loaded config."""
    present = {w.name for w in config.watchers}
    added: list[WatcherConfig] = [
        replace(p.watcher, args=(*p.watcher.args, *plugin_endpoint_args(endpoints)))
        for p in config.plugins
        if p.watcher is not None and p.name not in present
    ]
    if not added:
        return config
    return replace(config, watchers=tuple(sorted((*config.watchers, *added), key=lambda w: w.name)))


__all__ = [
    "PLUGIN_RUNNER_MODULE",
    "PLUGIN_WATCHER_DEFAULTS",
    "build_plugin",
    "parse_plugin_options",
    "plugin_option_table",
    "with_plugin_watchers",
]
