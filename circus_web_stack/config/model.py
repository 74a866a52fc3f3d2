"""The frozen configuration model and `diff(old, new)`, which tells a reload what changed.

Every attribute is named as Circus names the option and holds the parsed Python value. Each section's
options are declared once, as the fields of its dataclass: DaemonConfig (daemon_config.py), WatcherConfig
(watcher_config.py), SocketConfig (socket_config.py), PluginConfig (here); options.py derives the tables
from them. Build these through config.loader (`load_config`, `parse_watcher`, ...), which validates;
constructing them directly skips validation. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from circus_web_stack.config.daemon_config import DaemonConfig
from circus_web_stack.config.declaration import option
from circus_web_stack.config.kinds import Bool, Text
from circus_web_stack.config.socket_config import SocketConfig
from circus_web_stack.config.specs import (
    DEFAULT_IGNORED_HOOKS,
    HOOK_NAMES,
    FrozenMap,
    HookSpec,
    StreamSpec,
    freeze_fields,
)
from circus_web_stack.config.watcher_config import FlappingSpec, WatcherConfig

__all__ = [
    "DEFAULT_IGNORED_HOOKS",
    "HOOK_NAMES",
    "Config",
    "ConfigDiff",
    "DaemonConfig",
    "FlappingSpec",
    "FrozenMap",
    "HookSpec",
    "PluginConfig",
    "SocketConfig",
    "StreamSpec",
    "WatcherConfig",
    "diff",
]


@dataclass(frozen=True)
class PluginConfig:
    """[plugin:NAME]: `name` is the plugin's watcher name, `plugin:NAME`; `target` the dotted path of
    the class that runs (Circus's names mapped to ours). `options` holds the keys passed to the plugin
    (every key that is no watcher option, as text, the way Circus passes them), `watcher_options` the
    watcher options that configure its process. `watcher` is that process's watcher, without the
    daemon's endpoints (runtime adds them: plugin_section.with_plugin_watchers); None when the plugin
    is inactive or is Circus's Flapping, which `flapping` then holds: the built-in flapping's defaults.
    """

    name: str
    use: str = option(
        Text(label="a dotted path to the plugin class"),
        "",
        "the plugin class: one of Circus's (circus.plugins.statsd.StatsdEmitter, ...), mapped to ours, "
        "or any importable class; every other key is passed to the plugin, watcher options configure "
        "the plugin's process",
        default_doc="(required)",
    )
    active: bool = option(Bool(), True, "false: the plugin is not run at all")
    target: str = ""
    options: Mapping[str, str] = field(default_factory=FrozenMap)
    watcher_options: Mapping[str, str] = field(default_factory=FrozenMap)
    watcher: WatcherConfig | None = None
    flapping: FlappingSpec | None = None

    def __post_init__(self) -> None:
        freeze_fields(self, "options", "watcher_options")


@dataclass(frozen=True)
class Config:
    """A whole configuration. Watchers, sockets and plugins are sorted by name; `warnings` are the
    loader's messages (file:line [section] option: text) for the caller to log."""

    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    sockets: tuple[SocketConfig, ...] = ()
    watchers: tuple[WatcherConfig, ...] = ()
    plugins: tuple[PluginConfig, ...] = ()
    path: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def watcher(self, name: str) -> WatcherConfig | None:
        """The watcher named `name` (names are unique case-insensitively), or None."""
        wanted = name.lower()
        return next((w for w in self.watchers if w.name.lower() == wanted), None)

    def socket(self, name: str) -> SocketConfig | None:
        wanted = name.lower()
        return next((s for s in self.sockets if s.name == wanted), None)

    def plugin(self, name: str) -> PluginConfig | None:
        """By watcher name (`plugin:flapping`) or bare name (`flapping`)."""
        wanted = name.lower()
        return next(
            (p for p in self.plugins if wanted in (p.name.lower(), p.name.lower().removeprefix("plugin:"))),
            None,
        )


@dataclass(frozen=True)
class ConfigDiff:
    """What `reloadconfig` must do to go from the old configuration to the new one (names, sorted).

    Watchers in `scaled_only` differ only in numprocesses; those in `changed_watchers` differ in anything else
    or depend on a changed socket; `changed_options` says which attributes differ for each of them
    (a changed socket X appears as 'socket:X'), so the runtime can choose between updating in place
    and a rolling reload with options.needs_reload.
    """

    daemon_changed: bool = False
    daemon_keys: tuple[str, ...] = ()
    added_sockets: tuple[str, ...] = ()
    removed_sockets: tuple[str, ...] = ()
    changed_sockets: tuple[str, ...] = ()
    added_watchers: tuple[str, ...] = ()
    removed_watchers: tuple[str, ...] = ()
    scaled_only: tuple[str, ...] = ()
    changed_watchers: tuple[str, ...] = ()
    unchanged_watchers: tuple[str, ...] = ()
    changed_options: Mapping[str, tuple[str, ...]] = field(default_factory=FrozenMap)
    added_plugins: tuple[str, ...] = ()
    removed_plugins: tuple[str, ...] = ()
    changed_plugins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        freeze_fields(self, "changed_options")

    @property
    def is_empty(self) -> bool:
        return not (
            self.daemon_changed
            or self.added_sockets
            or self.removed_sockets
            or self.changed_sockets
            or self.added_watchers
            or self.removed_watchers
            or self.scaled_only
            or self.changed_watchers
            or self.added_plugins
            or self.removed_plugins
            or self.changed_plugins
        )


def _split(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    added = tuple(sorted(new.keys() - old.keys()))
    removed = tuple(sorted(old.keys() - new.keys()))
    changed = tuple(sorted(name for name in old.keys() & new.keys() if old[name] != new[name]))
    return added, removed, changed


def diff(old: Config, new: Config) -> ConfigDiff:
    """Compare two configurations by name. Pure; the order of sections in the files does not matter."""
    daemon_keys = tuple(
        name
        for name in (f.name for f in fields(DaemonConfig))
        if getattr(old.daemon, name) != getattr(new.daemon, name)
    )
    added_sockets, removed_sockets, changed_sockets = _split(
        {s.name: s for s in old.sockets}, {s.name: s for s in new.sockets}
    )
    old_watchers = {w.name: w for w in old.watchers}
    new_watchers = {w.name: w for w in new.watchers}
    scaled_only: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    changed_options: dict[str, tuple[str, ...]] = {}
    for name in sorted(old_watchers.keys() & new_watchers.keys()):
        before, after = old_watchers[name], new_watchers[name]
        differing = after.differing_options(before)
        moved_sockets = tuple(
            f"socket:{s}" for s in sorted(after.referenced_sockets() & set(changed_sockets))
        )
        if moved_sockets or (differing and differing != ("numprocesses",)):
            changed.append(name)
            changed_options[name] = differing + moved_sockets
        elif differing:
            scaled_only.append(name)
        else:
            unchanged.append(name)
    added_plugins, removed_plugins, changed_plugins = _split(
        {p.name: p for p in old.plugins}, {p.name: p for p in new.plugins}
    )
    return ConfigDiff(
        daemon_changed=bool(daemon_keys),
        daemon_keys=daemon_keys,
        added_sockets=added_sockets,
        removed_sockets=removed_sockets,
        changed_sockets=changed_sockets,
        added_watchers=tuple(sorted(new_watchers.keys() - old_watchers.keys())),
        removed_watchers=tuple(sorted(old_watchers.keys() - new_watchers.keys())),
        scaled_only=tuple(scaled_only),
        changed_watchers=tuple(changed),
        unchanged_watchers=tuple(unchanged),
        changed_options=changed_options,
        added_plugins=added_plugins,
        removed_plugins=removed_plugins,
        changed_plugins=changed_plugins,
    )
