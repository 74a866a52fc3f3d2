"""circusctl's argument grammar: how each command's properties are spelled on a command line
(positional words and --flags), its usage line, and binding words to properties.

Rule: one row per command of the wire table (protocol/commands.py), tied to it by a test; a row
only says how circusctl spells what the table declares. `--waiting` and `--match` come from the
table's takes_waiting / takes_match, the same on every command. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from circus_web_stack.protocol.command_spec import CommandSpec
from circus_web_stack.protocol.commands import COMMANDS
from circus_web_stack.protocol.properties import MATCH_MODES, Prop, PropType


class UsageError(ValueError):
    """circusctl arguments that do not fit a command's usage; the message names what is wrong."""


class Arity(StrEnum):
    """How circusctl binds positional words to a property."""

    ONE = "one"  # exactly one word
    OPTIONAL = "optional"  # zero or one word; optional slots fill left to right
    REST = "rest"  # one or more words -> a list
    ANY = "any"  # zero or more words -> a list (absent when none)
    COMMAND_LINE = "command_line"  # first word -> the property, further words -> `args` (a list)
    PAIRS = "pairs"  # key value [key value ...] -> an object of lower-cased key to text


@dataclass(frozen=True)
class Positional:
    prop: str
    arity: Arity
    metavar: str


@dataclass(frozen=True)
class Flag:
    """A circusctl option of one command. Without a metavar it stores `const` into `prop`."""

    option: str  # the long option without dashes, as Circus spells it
    prop: str
    doc: str
    const: object = True
    metavar: str | None = None  # set: the option takes a value
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other spellings, e.g. graceful-timeout
    repeatable: bool = False  # `--option k=v` may be given several times

    @property
    def takes_value(self) -> bool:
        return self.metavar is not None or bool(self.choices)


@dataclass(frozen=True)
class Grammar:
    """How circusctl spells one command: `spec` is its row of the wire table."""

    spec: CommandSpec
    positionals: tuple[Positional, ...]
    flags: tuple[Flag, ...]

    @property
    def usage(self) -> str:
        words = ["circusctl", self.spec.name, *(_positional_usage(p) for p in self.positionals)]
        for flag in self.flags:
            if flag.choices:
                text = f"--{flag.option}={'|'.join(flag.choices)}"
            elif flag.metavar:
                text = f"--{flag.option}={flag.metavar}"
            else:
                text = f"--{flag.option}"
            words.append(f"[{text}]")
        return " ".join(words)


_WAITING_FLAG = Flag("waiting", "waiting", "wait for the work to finish before replying")
_MATCH_FLAG = Flag("match", "match", "how <name> selects watchers (default glob)", choices=MATCH_MODES)
_NAME = Positional("name", Arity.ONE, "name")
_NAME_OPTIONAL = Positional("name", Arity.OPTIONAL, "name")


def _row(name: str, *positionals: Positional, flags: Sequence[Flag] = ()) -> tuple[str, Grammar]:
    spec = COMMANDS[name]
    derived = [_WAITING_FLAG] if spec.takes_waiting else []
    derived += [_MATCH_FLAG] if spec.takes_match else []
    return name, Grammar(spec, tuple(positionals), (*flags, *derived))


GRAMMAR: Mapping[str, Grammar] = dict(
    (
        _row(
            "add",
            _NAME,
            Positional("cmd", Arity.COMMAND_LINE, "cmd"),
            flags=(
                Flag("start", "start", "start the watcher once added"),
                Flag(
                    "option",
                    "options",
                    "set a watcher option, e.g. --option numprocesses=2 (repeatable)",
                    metavar="KEY=VALUE",
                    repeatable=True,
                ),
            ),
        ),
        _row("rm", _NAME, flags=(Flag("nostop", "nostop", "do not stop the watcher's processes"),)),
        _row("start", _NAME_OPTIONAL),
        _row("stop", _NAME_OPTIONAL),
        _row("restart", _NAME_OPTIONAL),
        _row(
            "reload",
            _NAME_OPTIONAL,
            flags=(
                Flag("terminate", "graceful", "stop then start (not graceful)", const=False),
                Flag("sequential", "sequential", "replace one process at a time"),
            ),
        ),
        _row("reloadconfig"),
        _row("saveoverlay"),
        _row("incr", _NAME, Positional("nb", Arity.OPTIONAL, "nb")),
        _row("decr", _NAME, Positional("nb", Arity.OPTIONAL, "nb")),
        _row("numprocesses", _NAME_OPTIONAL),
        _row("numwatchers"),
        _row("list", _NAME_OPTIONAL),
        _row("processes", _NAME),
        _row("listsockets"),
        _row("status", _NAME_OPTIONAL),
        _row(
            "stats",
            _NAME_OPTIONAL,
            Positional("process", Arity.OPTIONAL, "pid"),
            flags=(Flag("extended", "extended", "include info from the extended_stats hook"),),
        ),
        _row("dstats"),
        _row("options", _NAME),
        _row("get", _NAME, Positional("keys", Arity.REST, "key")),
        _row("set", _NAME, Positional("options", Arity.PAIRS, "key")),
        _row(
            "signal",
            _NAME,
            Positional("pid", Arity.OPTIONAL, "pid"),
            Positional("signum", Arity.ONE, "signum"),
            flags=(
                Flag("children", "children", "only signal the children of the process"),
                Flag("recursive", "recursive", "signal the process and all its descendants"),
            ),
        ),
        _row(
            "kill",
            _NAME,
            Positional("pid", Arity.OPTIONAL, "pid"),
            flags=(
                Flag("signum", "signum", "signal to send first", metavar="SIGNUM"),
                Flag(
                    "graceful_timeout",
                    "graceful_timeout",
                    "seconds before SIGKILL",
                    metavar="SECONDS",
                    aliases=("graceful-timeout",),
                ),
            ),
        ),
        _row("globaloptions", Positional("option", Arity.OPTIONAL, "option")),
        _row("quit"),
        _row(
            "listen",
            Positional("topics", Arity.ANY, "topic"),
            flags=(Flag("pubsub-endpoint", "pubsub_endpoint", "the pubsub endpoint", metavar="ENDPOINT"),),
        ),
    )
)


def bind_positionals(grammar: Grammar, words: Sequence[str]) -> dict[str, object]:
    """circusctl's positional words for a command as properties (e.g. `signal web 42 USR1`).

    Required slots are served first; optional slots take leftover words from left to right; a
    variadic slot (rest, command line, pairs) takes what remains. Raises UsageError.
    """
    name = grammar.spec.name
    minimum = _MINIMUM_WORDS
    needed = sum(minimum[p.arity] for p in grammar.positionals)
    variadic = any(p.arity in _VARIADIC for p in grammar.positionals)
    if len(words) < needed:
        missing = [f"<{p.metavar}>" for p in grammar.positionals if minimum[p.arity]]
        raise UsageError(f"{name}: missing argument(s); it needs {' '.join(missing)}")
    spare = len(words) - needed
    optional_count = sum(1 for p in grammar.positionals if p.arity is Arity.OPTIONAL)
    if not variadic and spare > optional_count:
        extra = " ".join(words[needed + optional_count :])
        raise UsageError(f"{name}: too many arguments ({extra})")
    props: dict[str, object] = {}
    queue = list(words)
    for pos in grammar.positionals:
        prop = grammar.spec.props_by_name[pos.prop]
        if pos.arity is Arity.OPTIONAL:
            if spare == 0:
                continue
            spare -= 1
            props[pos.prop] = _word_value(name, prop, queue.pop(0))
        elif pos.arity is Arity.ONE:
            props[pos.prop] = _word_value(name, prop, queue.pop(0))
        elif pos.arity in (Arity.REST, Arity.ANY):
            count = minimum[pos.arity] + spare
            spare = 0
            if count:
                props[pos.prop] = [queue.pop(0) for _ in range(count)]
        elif pos.arity is Arity.COMMAND_LINE:
            count = 1 + spare
            spare = 0
            line = [queue.pop(0) for _ in range(count)]
            props[pos.prop] = line[0]
            if len(line) > 1:
                props["args"] = line[1:]
        else:  # Arity.PAIRS
            count = 2 + spare
            spare = 0
            pairs = [queue.pop(0) for _ in range(count)]
            if len(pairs) % 2:
                odd = " ".join(pairs)
                raise UsageError(f"{name}: {odd}: a key has no value")
            props[pos.prop] = {key.lower(): text for key, text in zip(pairs[::2], pairs[1::2], strict=True)}
    return props


_VARIADIC = (Arity.REST, Arity.ANY, Arity.COMMAND_LINE, Arity.PAIRS)
_MINIMUM_WORDS = {
    Arity.ONE: 1,
    Arity.OPTIONAL: 0,
    Arity.REST: 1,
    Arity.ANY: 0,
    Arity.COMMAND_LINE: 1,
    Arity.PAIRS: 2,
}


def _word_value(command: str, prop: Prop, word: str) -> object:
    if prop.type is PropType.INT:
        try:
            return int(word)
        except ValueError:
            raise UsageError(f"{command}: <{prop.name}> must be an integer, got {word!r}") from None
    if prop.type is PropType.STR_LIST:
        return [word]
    return word


def _positional_usage(pos: Positional) -> str:
    if pos.arity is Arity.ONE:
        return f"<{pos.metavar}>"
    if pos.arity is Arity.OPTIONAL:
        return f"[<{pos.metavar}>]"
    if pos.arity is Arity.REST:
        return f"<{pos.metavar}> [<{pos.metavar}> ...]"
    if pos.arity is Arity.ANY:
        return f"[<{pos.metavar}> ...]"
    if pos.arity is Arity.COMMAND_LINE:
        return f"<{pos.metavar}> [<arg> ...]"
    return f"<{pos.metavar}> <value> [<{pos.metavar}> <value> ...]"
