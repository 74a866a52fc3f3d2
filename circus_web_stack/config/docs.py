"""docs/options.md, generated from the option tables: `python -m circus_web_stack.config.docs`.

Rule: the reference is never edited by hand, so it cannot drift from what the loader accepts; a unit
test fails when the committed file differs from this output.
"""

from __future__ import annotations

from collections.abc import Iterable

from circus_web_stack.config.declaration import Option
from circus_web_stack.config.families import STREAM_CLASSES
from circus_web_stack.config.options import (
    DAEMON_OPTIONS,
    PLUGIN_OPTIONS,
    SOCKET_OPTIONS,
    WATCHER_FAMILIES,
    WATCHER_GROUPS,
    WATCHER_OPTIONS,
    group_of,
)
from circus_web_stack.config.plugin_section import plugin_option_table
from circus_web_stack.config.plugin_use import BUILTIN_FLAPPING, CIRCUS_PLUGINS, load_plugin_class
from circus_web_stack.config.specs import DEFAULT_IGNORED_HOOKS, HOOK_NAMES


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows), ""]


def _doc(option: Option) -> str:
    if option.obsolete:
        return f"{option.doc}. Accepted, no effect: {option.obsolete}"
    if not option.in_ini:
        return f"{option.doc} (API and `set` only)"
    return option.doc


def _code(name: str) -> str:
    return f"`{name}`"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _plain_row(o: Option) -> list[str]:
    return [_code(o.name), o.kind.label, o.default_text(), _doc(o)]


def _simple_section(title: str, intro: str, options: dict[str, Option]) -> list[str]:
    rows = [_plain_row(o) for o in options.values()]
    return [f"## {title}", "", intro, "", *_table(["option", "type", "default", "description"], rows)]


def _watcher_section() -> list[str]:
    rows = [
        [
            _code(o.name),
            o.kind.label,
            o.default_text(),
            _doc(o),
            _yes(o.settable and not o.obsolete),
            _yes(o.needs_reload),
        ]
        for o in WATCHER_OPTIONS.values()
        if group_of(o.name) is None  # a group's options have their own table, below
    ]
    rows += [
        [_code(f.placeholder), f.label, "(none)", f.doc, _yes(f.settable), _yes(f.needs_reload)]
        for f in WATCHER_FAMILIES
    ]
    rows += [
        [
            _code(f"{g.prefix}<key>"),
            ", ".join(g.members()),
            "(none)",
            g.doc,
            _yes(any(o.settable for o in g.options.values())),
            _yes(any(o.needs_reload for o in g.options.values())),
        ]
        for g in WATCHER_GROUPS
    ]
    header = ["option", "type", "default", "description", "settable at runtime", "needs reload"]
    return [
        "## [watcher:NAME]",
        "",
        "One section per program. *Settable at runtime*: Circus's `add` and `set` commands accept it. "
        "*Needs reload*: changing it at runtime replaces the processes (a rolling reload); otherwise "
        "only process management changes. Other keys are kept as free-form values shown by "
        "`options` and `get`, unless they look like a misspelt option, which is refused.",
        "",
        *_table(header, rows),
    ]


def _families_section() -> list[str]:
    (flapping,) = WATCHER_GROUPS
    flapping_rows = [_plain_row(o) for o in flapping.options.values()]
    stream_rows = [
        [_code(name), ", ".join(f"`{k}` ({kind.label})" for k, kind in kwargs.items()) or "(none)"]
        for name, kwargs in STREAM_CLASSES.items()
    ]
    hook_rows = [[_code(f"hooks.{name}"), _yes(name in DEFAULT_IGNORED_HOOKS)] for name in HOOK_NAMES]
    return [
        "## Watcher key families",
        "",
        "### Streams (`stdout_stream.<key>`, `stderr_stream.<key>`)",
        "",
        "`class` is one of these names or a dotted path to a callable; `filename` alone means FileStream.",
        "",
        *_table(["class", "options"], stream_rows),
        "### Hooks (`hooks.<hook> = package.module.callable[, ignore_failure]`)",
        "",
        *_table(["hook", "failure ignored by default"], hook_rows),
        "### Flapping (`flapping.<key>`; defaults from `[plugin:flapping]`, else these)",
        "",
        *_table(["key", "type", "default", "description"], flapping_rows),
    ]


def _plugins_section() -> list[str]:
    lines = [
        "## The shipped plugins",
        "",
        "`use =` takes Circus's dotted path (left) or ours. Each plugin's keys are checked at load: a bad "
        "value is an error, a key the plugin does not have is a warning that it has no effect. "
        f"`{BUILTIN_FLAPPING}` runs no process: its section sets the flapping defaults of every "
        "watcher (see *Flapping* above).",
        "",
    ]
    for circus_name, ours in CIRCUS_PLUGINS.items():
        model = getattr(load_plugin_class(ours), "options_model", None)
        lines += [f"### `{circus_name}` (`{ours}`)", ""]
        if model is not None:
            lines += _table(
                ["option", "type", "default", "description"],
                [_plain_row(o) for o in plugin_option_table(model).values()],
            )
    return lines


def _compatibility_section() -> list[str]:
    rows = [
        [f"[{section}]", _code(o.name), o.obsolete or ""]
        for section, table in (("circus", DAEMON_OPTIONS), ("watcher:NAME", WATCHER_OPTIONS))
        for o in table.values()
        if o.obsolete
    ]
    rows.append(
        [
            "[plugin:flapping]",
            "`active = false`",
            "flapping is built into every watcher and cannot be switched off",
        ]
    )
    return [
        "## Accepted for compatibility only",
        "",
        "These keys load, so that Circus configs need no edit, but do nothing; each gets a warning at "
        "load saying so. So does any key of a shipped plugin that the plugin does not have, and any key "
        "of a [plugin:flapping] section other than attempts, window, retry_in, max_retry.",
        "",
        *_table(["section", "key", "why it has no effect"], rows),
    ]


def render_options_markdown() -> str:
    lines = [
        "# Configuration options",
        "",
        "Generated from `circus_web_stack/config/options.py` by `make docs`; do not edit by hand.",
        "Option names are Circus's. See `docs/circus-differences.md` for where we differ on purpose.",
        "",
        *_simple_section("[circus]", "The daemon. One section.", DAEMON_OPTIONS),
        *_watcher_section(),
        *_families_section(),
        *_simple_section(
            "[socket:NAME]",
            "A listening socket, bound once by the daemon. Names are lower-cased.",
            SOCKET_OPTIONS,
        ),
        *_simple_section(
            "[plugin:NAME]",
            "A plugin, run as the singleton watcher `plugin:NAME` (priority 1, copy_env, copy_path) by "
            "`circus-plugin`. Keys that are watcher options configure the plugin's process; every "
            "other key goes to the plugin, as text. See docs/plugins.md.",
            PLUGIN_OPTIONS,
        ),
        *_plugins_section(),
        *_compatibility_section(),
        "## [env] and [env:PATTERNS]",
        "",
        "`[env]` applies to every watcher, `[env:web,worker*]` to the watchers whose names match one of "
        "the comma-separated globs (several matching sections apply in file order). Names keep their "
        "case; `$VAR` (upper-case names) expands from the daemon's environment. Precedence: "
        "`[env:NAME]` over `[env]` over the daemon's environment (used only with `copy_env`).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    print(render_options_markdown(), end="")


if __name__ == "__main__":
    main()
