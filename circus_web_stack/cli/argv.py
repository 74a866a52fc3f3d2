"""circusctl's command line parsed: the global options, each command's flags (from cli/grammar.py)
and typed-in watcher options checked against the config option table.

Rule: argparse never prints or exits here; every mistake is a UsageError naming the command and
what would be valid, and nothing is sent for it.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, NoReturn

from circus_web_stack.cli.common import Parser, positive_seconds
from circus_web_stack.cli.grammar import Grammar, UsageError, bind_positionals
from circus_web_stack.protocol.properties import PropType

if TYPE_CHECKING:
    from circus_web_stack.config.kinds import Kind

PROG = "circusctl"
# The global options, which a command line may also give after the command.
GLOBAL_OPTIONS = (
    "endpoint",
    "timeout",
    "json",
    "prettify",
    "table",
    "curve_server_key",
    "curve_client_key",
    # a fleet (cli/fleet_session.py): the node file, which nodes, and a rollout's batch size
    "fleet",
    "nodes",
    "tags",
    "every",
    "batch",
)


class _Parser(Parser):
    """argparse that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.suggest(message))


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--endpoint", default=default(None))
    parser.add_argument("--timeout", type=positive_seconds, default=default(None))
    parser.add_argument("--json", action="store_true", default=default(False))
    parser.add_argument("--prettify", action="store_true", default=default(False))
    parser.add_argument("--table", action="store_true", default=default(False))
    parser.add_argument("--curve-server-key", default=default(None))
    parser.add_argument("--curve-client-key", default=default(None))
    parser.add_argument("--fleet", default=default(None))
    parser.add_argument("--node", dest="nodes", action="append", default=default(None))
    parser.add_argument("--tag", dest="tags", action="append", default=default(None))
    parser.add_argument("--all", dest="every", action="store_true", default=default(False))
    parser.add_argument("--batch", default=default(None))


def global_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, add_help=False, allow_abbrev=False)
    _add_global_options(parser, suppress=False)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--version", action="store_true")
    parser.add_argument("command", nargs="?")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def command_parser(grammar: Grammar) -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} {grammar.spec.name}", add_help=False, allow_abbrev=False)
    _add_global_options(parser, suppress=True)  # `circusctl status web --json` works too
    parser.add_argument("-h", "--help", action="store_true")
    for flag in grammar.flags:
        names = [f"--{flag.option}", *(f"--{alias}" for alias in flag.aliases)]
        dest = _flag_dest(flag.option)
        if flag.repeatable:
            parser.add_argument(*names, dest=dest, action="append", metavar=flag.metavar)
        elif flag.takes_value:
            parser.add_argument(*names, dest=dest, choices=flag.choices or None, metavar=flag.metavar)
        else:
            parser.add_argument(*names, dest=dest, action="store_const", const=flag.const)
    parser.add_argument("words", nargs="*")
    return parser


def properties_of(grammar: Grammar, parsed: argparse.Namespace) -> dict[str, object]:
    """The request's properties from the parsed command line (not yet validated)."""
    name = grammar.spec.name
    properties = bind_positionals(grammar, parsed.words)
    for flag in grammar.flags:
        value = getattr(parsed, _flag_dest(flag.option))
        if value is None:
            continue
        if flag.repeatable:
            pairs = {}
            for item in value:
                key, sep, text = item.partition("=")
                if not sep or not key:
                    raise UsageError(f"{name}: --{flag.option} expects {flag.metavar}, got {item!r}")
                pairs[key.lower()] = text
            properties[flag.prop] = {**properties.get(flag.prop, {}), **pairs}
        else:
            properties[flag.prop] = value
    for prop in grammar.spec.props:
        if prop.type is PropType.OPTIONS and prop.name in properties:
            properties[prop.name] = wire_options(name, properties[prop.name])
    return properties


_NUMBER_TEXT = re.compile(r"-?\d+(\.\d*)?")
_BOOL_TEXT = frozenset({"true", "false", "yes", "no", "on", "off"})


def wire_options(command: str, texts: dict[str, str]) -> dict[str, object]:
    """Typed-in `key value` options checked against the config option table (unknown keys, and for
    `set` keys that cannot change on a running watcher, are usage errors). A value whose text is a
    number or a boolean is sent as a JSON number or boolean when the option's kind reads it so, as
    Circus's circusctl does; any other value goes as text, which the daemon parses like the ini."""
    # Imported here: the option table costs more start-up time than most commands take to run.
    from circus_web_stack.config.options import WATCHER_OPTIONS, is_settable, unknown_watcher_key

    options: dict[str, object] = {}
    for key, text in texts.items():
        option = WATCHER_OPTIONS.get(key)
        unknown = unknown_watcher_key(key)
        if unknown:
            raise UsageError(f"{command}: {unknown}")
        if command == "set" and not is_settable(key):
            raise UsageError(f"{command}: {key!r} cannot be set on a running watcher (see docs/options.md)")
        options[key] = text if option is None else _wire_value(option.kind, text)
    return options


def _wire_value(kind: Kind, text: str) -> object:
    from circus_web_stack.config.kinds import InvalidValue

    stripped = text.strip()
    if not (_NUMBER_TEXT.fullmatch(stripped) or stripped.lower() in _BOOL_TEXT):
        return text
    try:
        value = kind.parse(text)
    except InvalidValue:
        return text  # the daemon answers with the reason
    return value if isinstance(value, (bool, int, float)) else text


def _flag_dest(option: str) -> str:
    return "flag_" + option.replace("-", "_")
