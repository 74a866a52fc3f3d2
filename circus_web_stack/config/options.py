"""The option tables of every section: [circus], [watcher:NAME], [socket:NAME], [plugin:NAME].

Rule: every option is declared ONCE, as a field of the dataclass that keeps its value, and everything else
(these tables, parsing, validation, defaults, the `options`/`get`/`set` commands, docs/options.md) derives
from that field. The annotation is the attribute's static type; `option()` gives kind, default and doc:

    numprocesses: int = option(Int(0), 1, "how many processes to run", settable=True)

To add an option:
1. Add that one field to DaemonConfig (daemon_config.py), WatcherConfig or its FlappingSpec group
   (watcher_config.py), SocketConfig (socket_config.py) or PluginConfig (model.py), where the docs
   should list it. Watcher options say `settable=True` when Circus's `add`/`set` may set them and
   `needs_reload=True` when a change needs new processes; `default_doc=` words the docs' default.
2. Add its valid and invalid values to tests/unit/config/test_option_values.py (a test fails otherwise).
3. Run `make docs` to regenerate docs/options.md.
An old-form row `Option("name", _W, Kind(), default, "doc", settable, needs_reload, default_doc=...)`
becomes `name: <type> = option(Kind(), default, "doc", settable=..., needs_reload=..., default_doc=...)`.

Only a key that is no model attribute is an `Option(...)` row here: one the loader reads itself
(include) or an obsolete one, accepted so old configs load and warned about at load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from circus_web_stack.config.daemon_config import DaemonConfig
from circus_web_stack.config.declaration import Option, OptionGroup, declared_groups, declared_options
from circus_web_stack.config.families import RLIMIT_NAMES, STREAM_CLASSES
from circus_web_stack.config.kinds import Bool, Kind, Text, Words
from circus_web_stack.config.model import PluginConfig
from circus_web_stack.config.socket_config import SocketConfig
from circus_web_stack.config.specs import HOOK_NAMES
from circus_web_stack.config.watcher_config import WatcherConfig
from circus_web_stack.core.suggest import did_you_mean


class Section(StrEnum):
    DAEMON = "circus"
    WATCHER = "watcher"
    SOCKET = "socket"
    PLUGIN = "plugin"


@dataclass(frozen=True)
class OptionFamily:
    """Prefixed watcher keys that fill one composite attribute: `rlimit_<name>` fills `rlimits`."""

    prefix: str
    placeholder: str
    attribute: str
    label: str
    doc: str
    subkeys: tuple[str, ...]  # the valid `<name>` parts, for suggestions
    settable: bool = False
    needs_reload: bool = False


def _table(
    model: type, *, obsolete: tuple[Option, ...] = (), loader_keys: tuple[Option, ...] = (), after: str = ""
) -> dict[str, Option]:
    """The model's declared options in field order, the `loader_keys` (read by the loader itself) after
    the option named `after`, the obsolete ones at the end."""
    table: dict[str, Option] = {}
    for name, declared in declared_options(model).items():
        table[name] = declared
        if name == after:
            table.update((row.name, row) for row in loader_keys)
    table.update((row.name, row) for row in obsolete)
    return table


def _obsolete(name: str, kind: Kind, default: object, doc: str, why: str) -> Option:
    return Option(name, kind, default, doc, stored=False, obsolete=why)


_STREAM_BACKEND = _obsolete(
    "stream_backend",
    Text(optional=True),
    None,
    "Circus < 0.10 stream backend",
    "the stream backend is always gevent",
)

DAEMON_OPTIONS: dict[str, Option] = _table(
    DaemonConfig,
    loader_keys=(
        Option(
            "include",
            Words(),
            (),
            "more config files (globs, relative to this file), read after it",
            stored=False,
        ),
        Option("include_dir", Words(), (), "directories whose *.ini files are included", stored=False),
    ),
    after="loggerconfig",
    obsolete=(
        _STREAM_BACKEND,
        _obsolete(
            "statsd_close_outputs",
            Bool(),
            False,
            "Circus Arbiter argument",
            "circusd-stats output handling is not configurable",
        ),
        _obsolete(
            "httpd_close_outputs",
            Bool(),
            False,
            "Circus Arbiter argument",
            "the dashboard's output handling is not configurable",
        ),
        _obsolete(
            "ssh_server",
            Text(optional=True),
            None,
            "Circus Arbiter argument",
            "use circusctl --ssh on the client side",
        ),
    ),
)

WATCHER_OPTIONS: dict[str, Option] = _table(
    WatcherConfig,
    obsolete=(
        _obsolete(
            "check_flapping",
            Bool(),
            True,
            "Circus leftover",
            "flapping is configured with flapping.* keys or [plugin:flapping]",
        ),
        _STREAM_BACKEND,
    ),
)

# `flapping.<name>`: ordinary options in WATCHER_OPTIONS, held together by WatcherConfig.flapping
WATCHER_GROUPS: tuple[OptionGroup, ...] = declared_groups(WatcherConfig)

SOCKET_OPTIONS: dict[str, Option] = _table(SocketConfig)

PLUGIN_OPTIONS: dict[str, Option] = _table(PluginConfig)

TABLES: Mapping[Section, Mapping[str, Option]] = {
    Section.DAEMON: DAEMON_OPTIONS,
    Section.WATCHER: WATCHER_OPTIONS,
    Section.SOCKET: SOCKET_OPTIONS,
    Section.PLUGIN: PLUGIN_OPTIONS,
}

_STREAM_KEYS = tuple(sorted({"class", *(key for kwargs in STREAM_CLASSES.values() for key in kwargs)}))

WATCHER_FAMILIES: tuple[OptionFamily, ...] = (
    OptionFamily(
        "rlimit_",
        "rlimit_<name>",
        "rlimits",
        "an integer >= 0, or unlimited",
        "resource limit RLIMIT_<NAME> (nofile, nproc, core, ...); empty or unlimited: no limit",
        RLIMIT_NAMES,
        settable=True,
        needs_reload=True,
    ),
    OptionFamily(
        "hooks.",
        "hooks.<hook>",
        "hooks",
        "dotted.callable[, ignore_failure]",
        f"a hook: {', '.join(HOOK_NAMES)}",
        HOOK_NAMES,
        settable=True,
    ),
    OptionFamily(
        "stdout_stream.",
        "stdout_stream.<key>",
        "stdout_stream",
        "class, filename, ...",
        f"stdout stream: class ({', '.join(STREAM_CLASSES)} or a dotted callable) and its options",
        _STREAM_KEYS,
        settable=True,
        needs_reload=True,
    ),
    OptionFamily(
        "stderr_stream.",
        "stderr_stream.<key>",
        "stderr_stream",
        "class, filename, ...",
        "stderr stream, as stdout_stream",
        _STREAM_KEYS,
        settable=True,
        needs_reload=True,
    ),
)


def family_of(key: str) -> OptionFamily | None:
    """The family a prefixed watcher key belongs to (`hooks.before_start` -> hooks.), or None."""
    for family in WATCHER_FAMILIES:
        if key.startswith(family.prefix) and len(key) > len(family.prefix):
            return family
    return None


def group_of(key: str) -> OptionGroup | None:
    """The option group whose prefix a watcher key has (`flapping.attempts` -> flapping), or None; a
    key under a group's prefix must be one of its options."""
    return next((g for g in WATCHER_GROUPS if key.startswith(g.prefix)), None)


def known_keys(section: Section) -> list[str]:
    """Every key a section accepts, family keys spelled out: the candidates for 'did you mean'."""
    keys = [name for name, opt in TABLES[section].items() if opt.in_ini]
    if section is Section.WATCHER:
        keys += [family.prefix + sub for family in WATCHER_FAMILIES for sub in family.subkeys]
    return keys


def _watcher_rule(key: str) -> Option | OptionFamily | None:
    lowered = key.lower()
    return WATCHER_OPTIONS.get(lowered) or family_of(lowered)


def unknown_watcher_key(key: str) -> str | None:
    """ "unknown option 'numprocess' (did you mean 'numprocesses'?)" for a key no watcher has, else None:
    what circusctl and the daemon's add/set/get say alike."""
    if _watcher_rule(key) is not None:
        return None
    return f"unknown option {key!r}{did_you_mean(key, known_keys(Section.WATCHER))}"


def is_settable(key: str) -> bool:
    """May Circus's `add`/`set` commands set this watcher key (an option or a prefixed family key)?"""
    rule = _watcher_rule(key)
    return rule is not None and rule.settable and not (isinstance(rule, Option) and rule.obsolete)


def needs_reload(key: str) -> bool:
    """Does changing this watcher key at runtime need new processes (a rolling reload)?"""
    rule = _watcher_rule(key)
    return rule is not None and rule.needs_reload
