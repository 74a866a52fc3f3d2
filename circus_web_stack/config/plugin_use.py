"""`use =` of a [plugin:NAME] section: Circus's dotted paths mapped to ours, and the class imported, so a
path that names nothing is refused at load, before anything starts.

Rule: one table maps every plugin Circus 0.19 ships to its replacement here; any other path is taken
as written (ours, or a third party's). Importing is the only impure step: the class is imported in
the daemon as Circus does (and as hooks are), and a failure names what was tried.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from circus_web_stack.config.kinds import InvalidValue
from circus_web_stack.core.suggest import did_you_mean

_OURS = "circus_web_stack.plugins"

# Circus's flapping plugin is built into every watcher here: [plugin:flapping] configures it and runs
# no process (see config/plugin_section.py).
BUILTIN_FLAPPING = "circus.plugins.flapping.Flapping"

CIRCUS_PLUGINS: Mapping[str, str] = {
    "circus.plugins.statsd.StatsdEmitter": f"{_OURS}.statsd.StatsdEmitter",
    "circus.plugins.statsd.FullStats": f"{_OURS}.statsd.FullStats",
    "circus.plugins.resource_watcher.ResourceWatcher": f"{_OURS}.resource_watcher.ResourceWatcher",
    "circus.plugins.watchdog.WatchDog": f"{_OURS}.watchdog.WatchDog",
    "circus.plugins.command_reloader.CommandReloader": f"{_OURS}.command_reloader.CommandReloader",
    "circus.plugins.http_observer.HttpObserver": f"{_OURS}.http_observer.HttpObserver",
    "circus.plugins.redis_observer.RedisObserver": f"{_OURS}.redis_observer.RedisObserver",
}

# Our own paths of the shipped plugins, for the docs and for suggestions.
SHIPPED_PLUGINS: tuple[str, ...] = tuple(CIRCUS_PLUGINS.values())


def is_builtin_flapping(use: str) -> bool:
    """Circus's Flapping plugin, by its dotted path (ours has no class: it is the watchers' own)."""
    return use.strip() in (BUILTIN_FLAPPING, f"{_OURS}.flapping.Flapping")


def plugin_target(use: str) -> str:
    """The dotted path of the class that runs: Circus's names mapped to ours, `pkg.mod:Class`
    accepted, anything else as written."""
    text = use.strip()
    return CIRCUS_PLUGINS.get(text, text.replace(":", "."))


def load_plugin_class(use: str) -> type:
    """Import the class `use` names. InvalidValue says what was tried and why it failed."""
    target = plugin_target(use)
    tried = f"{use.strip()!r}" + (f" (Circus's name for {target})" if target != use.strip() else "")
    module_name, _, attribute = target.rpartition(".")
    if not module_name or not attribute:
        raise InvalidValue(f"{tried} is not a dotted path to a class (expected package.module.Class)")
    if use.strip().startswith("circus.plugins.") and target == use.strip():
        hint = did_you_mean(use.strip(), [*CIRCUS_PLUGINS, BUILTIN_FLAPPING])
        raise InvalidValue(
            f"{tried} is not one of Circus's plugins{hint} (known: {', '.join(CIRCUS_PLUGINS)}, "
            f"{BUILTIN_FLAPPING})"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidValue(f"cannot import {tried}: importing {module_name} failed: {exc}") from None
    except Exception as exc:  # the module's own code failed: say so rather than crash the load
        raise InvalidValue(
            f"cannot import {tried}: importing {module_name} raised {type(exc).__name__}: {exc}"
        ) from None
    found = getattr(module, attribute, None)
    if found is None:
        names = [n for n in dir(module) if not n.startswith("_")]
        raise InvalidValue(
            f"cannot import {tried}: module {module_name} has no {attribute}{did_you_mean(attribute, names)}"
        )
    if not isinstance(found, type) or not all(callable(getattr(found, m, None)) for m in ("start", "stop")):
        raise InvalidValue(
            f"{tried} is not a plugin class (expected a subclass of circus_web_stack.plugins.CircusPlugin, "
            "or of Circus's CircusPlugin)"
        )
    return found


__all__ = [
    "BUILTIN_FLAPPING",
    "CIRCUS_PLUGINS",
    "SHIPPED_PLUGINS",
    "is_builtin_flapping",
    "load_plugin_class",
    "plugin_target",
]
