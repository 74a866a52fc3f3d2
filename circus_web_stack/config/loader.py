"""Circus ini files -> Config: includes, [env] sections, $(circus.env.X) substitution, validation.

The only impure part of the config layer: it reads the main file and globs and reads its includes.
Everything a section means is decided by the builders in sections.py and watcher_section.py, shared with
the API (`parse_watcher`, `parse_socket`, `parse_daemon`) and the `set` command (`set_watcher_option`).
Warnings (duplicate keys, includes that match nothing, deprecated options) are returned on
Config.warnings, for the caller to log, rather than logged here.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from circus_web_stack.config.ini import IniSection, merge_sections, parse_ini
from circus_web_stack.config.model import (
    Config,
    DaemonConfig,
    FlappingSpec,
    PluginConfig,
    SocketConfig,
    WatcherConfig,
)
from circus_web_stack.config.options import DAEMON_OPTIONS
from circus_web_stack.config.overlay import apply_overlay, overlay_path, parse_overlay
from circus_web_stack.config.plugin_section import build_plugin
from circus_web_stack.config.plugin_use import is_builtin_flapping
from circus_web_stack.config.sections import (
    Where,
    build_daemon,
    build_socket,
    parse_daemon,
    parse_socket,
)
from circus_web_stack.config.substitution import expand_env_vars, substitute
from circus_web_stack.config.watcher_section import build_watcher, parse_watcher, set_watcher_option
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.suggest import did_you_mean

__all__ = ["load_config", "parse_daemon", "parse_socket", "parse_watcher", "set_watcher_option"]

_SECTION_KINDS = ("circus", "watcher", "socket", "plugin", "env")


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigError("configuration file not found", path=path) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a configuration file", path=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file: {exc.strerror}", path=path) from None


def _include_files(main: IniSection | None, main_path: str, warnings: list[str]) -> list[str]:
    """Files named by the main file's include and include_dir, in order, each glob sorted."""
    if main is None:
        return []
    base = os.path.dirname(main_path)
    files: list[str] = []
    for key, suffix in (("include", ""), ("include_dir", "*.ini")):
        entry = main.entries.get(key)
        if entry is None:
            continue
        for word in DAEMON_OPTIONS[key].kind.parse(entry.value):
            pattern = os.path.join(base, word, suffix) if suffix else os.path.join(base, word)
            matches = sorted(glob.glob(pattern))
            if not matches:
                warnings.append(
                    str(
                        ConfigError(
                            f"{word!r} matches no file (looked for {pattern}; relative to the main file)",
                            path=entry.path,
                            line=entry.line,
                            section="circus",
                            option=key,
                        )
                    )
                )
            files.extend(matches)
    return files


def _read_all(path: str, warnings: list[str]) -> list[IniSection]:
    sections, notes = parse_ini(_read_text(path), path)
    warnings.extend(notes)
    main = next((s for s in sections if s.name == "circus"), None)
    seen = {os.path.realpath(path)}
    for include in _include_files(main, path, warnings):
        real = os.path.realpath(include)
        if real in seen or not os.path.isfile(include):
            continue
        seen.add(real)
        included, notes = parse_ini(_read_text(include), include)
        warnings.extend(notes)
        for section in included:
            for key in ("include", "include_dir"):
                entry = section.entries.pop(key, None) if section.name == "circus" else None
                if entry is not None:
                    warnings.append(
                        str(
                            ConfigError(
                                "ignored: only the main file's include options are read",
                                path=entry.path,
                                line=entry.line,
                                section="circus",
                                option=key,
                            )
                        )
                    )
        sections = merge_sections(sections, included, warnings)
    return sections


def _section_kind(section: IniSection) -> tuple[str, str]:
    """(kind, name) of a section header, or ConfigError with a suggestion."""
    kind, sep, name = section.name.partition(":")
    named = kind in ("watcher", "socket", "plugin")
    if kind not in _SECTION_KINDS or (kind == "circus" and sep) or (named and not sep):
        close = did_you_mean(kind, _SECTION_KINDS)
        hint = ""
        if close:
            suggested = close.split("'")[1]
            hint = f" (did you mean '{suggested}{sep}{name}'?)"
        raise ConfigError(
            f"unknown section{hint} (expected [circus], [watcher:NAME], [socket:NAME], [plugin:NAME], [env] "
            "or [env:PATTERNS])",
            path=section.path,
            line=section.line,
            section=section.name,
        )
    if sep and not name.strip():
        raise ConfigError(
            f"[{kind}:] needs a name after the colon",
            path=section.path,
            line=section.line,
            section=section.name,
        )
    return kind, name.strip()


@dataclass
class _Sections:
    daemon: IniSection | None = None
    env: IniSection | None = None
    env_patterns: list[tuple[tuple[str, ...], IniSection]] = field(default_factory=list)
    watchers: list[tuple[str, IniSection]] = field(default_factory=list)
    sockets: list[tuple[str, IniSection]] = field(default_factory=list)
    plugins: list[tuple[str, IniSection]] = field(default_factory=list)


def _classify(sections: list[IniSection], warnings: list[str]) -> _Sections:
    found = _Sections()
    for section in sections:
        kind, name = _section_kind(section)
        if not section.entries:
            if kind in ("watcher", "socket", "plugin"):
                warnings.append(
                    str(
                        ConfigError(
                            "empty section skipped",
                            path=section.path,
                            line=section.line,
                            section=section.name,
                        )
                    )
                )
            continue
        if kind == "circus":
            found.daemon = section
        elif kind == "env" and not name:
            found.env = section
        elif kind == "env":
            found.env_patterns.append((tuple(p.strip() for p in name.split(",") if p.strip()), section))
        else:
            getattr(found, kind + "s").append((name, section))
    return found


def _where(section: IniSection, warnings: list[str]) -> Where:
    locations = {key: (entry.path, entry.line) for key, entry in section.entries.items()}
    return Where(section.path, section.name, section.line, locations, warnings)


def _expanded_env(
    section: IniSection | None, environ: Mapping[str, str], warnings: list[str]
) -> dict[str, str]:
    """An env section's values with $VAR expanded from the daemon's environment."""
    if section is None:
        return {}
    where = _where(section, warnings)
    env: dict[str, str] = {}
    for key, entry in section.entries.items():
        expanded, missing = expand_env_vars(entry.value, environ)
        for name in missing:
            where.warn(f"${name} is not set in the environment; it expands to nothing", key)
        env[key] = expanded
    return env


def _substituted(section: IniSection, variables: Mapping[str, Any]) -> dict[str, str]:
    """The section's values with $(circus.env.X) expanded (spawn-time variables stay as written)."""
    # the deprecated watcher `env` option is left alone, as Circus leaves env values alone
    return {
        key: entry.value if key == "env" else substitute(entry.value, variables)
        for key, entry in section.entries.items()
    }


def _env_variables(*layers: Mapping[str, str]) -> dict[str, Any]:
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return {"env": {name.lower(): value for name, value in merged.items()}}


def _build_plugins(
    found: _Sections,
    variables: Mapping[str, Any],
    daemon: DaemonConfig,
    sockets: list[str],
    warnings: list[str],
) -> list[PluginConfig]:
    """Circus's Flapping sections first (their values are every watcher's flapping defaults, the
    plugins' own watchers included), then the other plugins, each class imported."""

    def build(name: str, section: IniSection, defaults: FlappingSpec | None) -> PluginConfig:
        items = _substituted(section, variables)
        return build_plugin(
            name, items, _where(section, warnings), daemon=daemon, sockets=sockets, flapping_defaults=defaults
        )

    def builtin(section: IniSection) -> bool:
        entry = section.entries.get("use")
        return entry is not None and is_builtin_flapping(entry.value)

    flapping_sections = [(name, s) for name, s in found.plugins if builtin(s)]
    for name, section in flapping_sections[1:]:
        raise _where(section, warnings).error(
            f"a second section configures the built-in flapping (the first is "
            f"[plugin:{flapping_sections[0][0]}]); merge [plugin:{name}] into it"
        )
    flapping = [build(name, s, None) for name, s in flapping_sections]
    defaults = flapping[0].flapping if flapping else None
    return flapping + [build(name, s, defaults) for name, s in found.plugins if not builtin(s)]


def load_config(path: str, *, environ: Mapping[str, str] | None = None, with_overlay: bool = True) -> Config:
    """Read and validate a Circus ini file and its includes. `environ` (default os.environ) is the
    environment of the daemon: the source of $VAR in env values and of $(circus.env.X). With
    `[circus] overlay` on, the run-time changes kept in the overlay file are laid over it (unless
    `with_overlay` is False: the file alone). Raises ConfigError naming file, line, section and option."""
    environ = dict(os.environ if environ is None else environ)
    warnings: list[str] = []
    found = _classify(_read_all(path, warnings), warnings)

    global_env = _expanded_env(found.env, environ, warnings)
    pattern_envs = [
        (patterns, _expanded_env(section, environ, warnings)) for patterns, section in found.env_patterns
    ]
    shared_variables = _env_variables(environ, global_env)

    daemon_section = found.daemon
    daemon = (
        build_daemon(_substituted(daemon_section, shared_variables), _where(daemon_section, warnings))
        if daemon_section
        else parse_daemon({}, source=path)
    )

    sockets: list[SocketConfig] = []
    for name, section in found.sockets:
        socket = build_socket(name, _substituted(section, shared_variables), _where(section, warnings))
        if any(existing.name == socket.name for existing in sockets):
            raise ConfigError(
                f"a second socket named {socket.name!r} (socket names are case-insensitive)",
                path=section.path,
                line=section.line,
                section=section.name,
            )
        sockets.append(socket)
    socket_names = [s.name for s in sockets]

    plugins = _build_plugins(found, shared_variables, daemon, socket_names, warnings)
    flapping_defaults = next((p.flapping for p in plugins if p.flapping is not None), FlappingSpec())

    taken = {p.name.lower(): p.name for p in plugins}
    watchers: list[WatcherConfig] = []
    for name, section in found.watchers:
        where = _where(section, warnings)
        if name.lower() in taken:
            raise where.error(f"a second watcher named {name!r} (watcher names are case-insensitive)")
        taken[name.lower()] = name
        section_env = dict(global_env)
        for patterns, env in pattern_envs:
            if any(fnmatchcase(name, pattern) for pattern in patterns):
                section_env.update(env)
        variables = _env_variables(environ, section_env)
        watchers.append(
            build_watcher(
                name,
                _substituted(section, variables),
                where,
                from_ini=True,
                section_env=section_env,
                environ=environ,
                sockets=socket_names,
                flapping_defaults=flapping_defaults,
            )
        )

    for patterns, section in found.env_patterns:
        if not any(fnmatchcase(w.name, p) for w in watchers for p in patterns):
            _where(section, warnings).warn("matches no watcher")

    config = Config(
        daemon=daemon,
        sockets=tuple(sorted(sockets, key=lambda s: s.name)),
        watchers=tuple(sorted(watchers, key=lambda w: w.name)),
        plugins=tuple(sorted(plugins, key=lambda p: p.name)),
        path=path,
        warnings=tuple(warnings),
    )
    overlay_file = overlay_path(path)
    if with_overlay and daemon.overlay != "off" and os.path.exists(overlay_file):
        config = apply_overlay(config, parse_overlay(_read_text(overlay_file), overlay_file), overlay_file)
    return config
