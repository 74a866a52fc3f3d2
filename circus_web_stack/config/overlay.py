"""The overlay file: what changed at run time (watchers added or removed, numprocesses changed), kept
next to the config (`circus.ini` -> `circus.ini.overlay`) so that a restart keeps it (circus#937).

Rules: pure (JSON text and configs in and out; the loader reads the file, runtime/overlay.py writes
it). The overlay holds only the difference from the config file as it is: `overlay_of` computes it,
`apply_overlay` lays it over a freshly loaded config. Where the file has caught up (it now defines an
added watcher), the file wins and a warning says so. Only `[circus] overlay = manual | auto` reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from circus_web_stack.config.model import Config, WatcherConfig
from circus_web_stack.config.watcher_section import parse_watcher, set_watcher_option
from circus_web_stack.core.errors import ConfigError

OVERLAY_SUFFIX = ".overlay"
VERSION = 1


def overlay_path(config_path: str) -> str:
    return config_path + OVERLAY_SUFFIX


@dataclass(frozen=True)
class Overlay:
    numprocesses: Mapping[str, int] = field(default_factory=dict)
    added: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> options (add's form)
    removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.numprocesses or self.added or self.removed)

    def to_json(self, config_path: str) -> str:
        data = {
            "version": VERSION,
            "about": f"run-time changes to {config_path}, written by circusd ([circus] overlay); "
            "delete this file to drop them",
            "numprocesses": dict(sorted(self.numprocesses.items())),
            "added": {name: dict(self.added[name]) for name in sorted(self.added)},
            "removed": sorted(self.removed),
        }
        return json.dumps(data, indent=2) + "\n"


def parse_overlay(text: str, path: str) -> Overlay:
    """The overlay's JSON; ConfigError naming the file and what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"not JSON ({exc}); delete it to drop the run-time changes", path=path) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ConfigError(f"not an overlay of version {VERSION} (delete it to drop it)", path=path)
    numprocesses, added, removed = (
        data.get("numprocesses", {}),
        data.get("added", {}),
        data.get("removed", []),
    )
    if not (
        isinstance(numprocesses, dict)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numprocesses.values())
        and isinstance(added, dict)
        and all(isinstance(v, dict) for v in added.values())
        and isinstance(removed, list)
        and all(isinstance(v, str) for v in removed)
    ):
        raise ConfigError(
            "expected numprocesses {name: count}, added {name: {options}}, removed [names]", path=path
        )
    return Overlay(numprocesses, added, tuple(removed))


def apply_overlay(config: Config, overlay: Overlay, path: str) -> Config:
    """`config` with the overlay laid over it; warnings (names the file no longer has, added watchers
    the file now defines) are appended to the config's."""
    warnings = list(config.warnings)
    removed = {n.lower() for n in overlay.removed}
    watchers = {w.name.lower(): w for w in config.watchers if w.name.lower() not in removed}
    for name, count in overlay.numprocesses.items():
        current = watchers.get(name.lower())
        if current is None:
            warnings.append(
                f"{path}: numprocesses of {name}: no such watcher in the config any more; ignored"
            )
            continue
        watchers[name.lower()] = set_watcher_option(current, "numprocesses", count)
    sockets = [s.name for s in config.sockets]
    for name, options in overlay.added.items():
        if name.lower() in watchers:
            warnings.append(f"{path}: added watcher {name}: the config defines it now, which wins; ignored")
            continue
        watchers[name.lower()] = parse_watcher(name, options, source=path, sockets=sockets, warnings=warnings)
    return replace(
        config,
        watchers=tuple(sorted(watchers.values(), key=lambda w: w.name)),
        warnings=tuple(warnings),
    )


def _default_values() -> dict[str, Any]:
    return parse_watcher("default", {"cmd": "true"}).option_values()


def added_options(cfg: WatcherConfig) -> dict[str, Any]:
    """What `add` would need to make `cfg` again: its options that differ from the defaults."""
    defaults = _default_values()
    return {k: v for k, v in cfg.option_values().items() if k == "cmd" or v != defaults.get(k)}


def overlay_of(file_config: Config, current: Iterable[WatcherConfig], helpers: Iterable[str] = ()) -> Overlay:
    """What the overlay must hold so that `file_config` plus it gives the `current` watchers (the
    daemon's own helpers, which [circus] options add, left out)."""
    skip = {h.lower() for h in helpers}
    now = {w.name.lower(): w for w in current if w.name.lower() not in skip}
    base = {w.name.lower(): w for w in file_config.watchers}
    numprocesses = {
        w.name: w.numprocesses
        for key, w in now.items()
        if key in base and w.numprocesses != base[key].numprocesses
    }
    added = {w.name: added_options(w) for key, w in now.items() if key not in base}
    removed = tuple(sorted(w.name for key, w in base.items() if key not in now))
    return Overlay(numprocesses, added, removed)
