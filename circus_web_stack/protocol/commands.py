"""The one table of control commands: properties, circusctl arguments and flags, docs, reply rendering.

Rule: each command is declared once, here; validation, circusctl's parser and help, docs/commands.md
and the renderer are derived from these rows. Pure: no sockets, no processes.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from circus_web_stack.core.errors import ClientError, Errno
from circus_web_stack.protocol.signals import signal_number


class PropType(StrEnum):
    STR = "string"
    INT = "integer"
    NUMBER = "number"
    BOOL = "boolean"
    STR_LIST = "list of strings"
    ARGS = "string or list of strings"
    OPTIONS = "object of watcher options"  # keys and values are checked by the config option table
    SIGNAL = "signal name or number"
    MATCH = "one of simple, glob, regex"


class Arity(StrEnum):
    """How circusctl binds positional words to a property."""

    ONE = "one"  # exactly one word
    OPTIONAL = "optional"  # zero or one word; optional slots fill left to right
    REST = "rest"  # one or more words -> a list
    ANY = "any"  # zero or more words -> a list (absent when none)
    COMMAND_LINE = "command_line"  # first word -> the property, further words -> `args` (a list)
    PAIRS = "pairs"  # key value [key value ...] -> an object of lower-cased key to text


class Render(StrEnum):
    """How circusctl shows a successful reply (see cli/render.py)."""

    OK = "ok"  # "ok", plus started/stopped/kept pids when the reply has `info`
    FIELD = "field"  # the value of CommandSpec.render_field
    NAMES = "names"  # `watchers` or `pids`, one per line
    STATUS = "status"  # `status` (one watcher) or `statuses` as an aligned name: state listing
    STATS = "stats"  # a process table
    PROCESS_INFO = "process_info"  # `info` of dstats as key: value lines
    SOCKETS = "sockets"  # a socket table
    OPTIONS = "options"  # `options` as aligned key: value lines


MATCH_MODES = ("simple", "glob", "regex")
DEFAULT_MATCH = "glob"


@dataclass(frozen=True)
class Prop:
    name: str
    type: PropType
    doc: str
    required: bool = False
    default: object = None  # None: absent unless given


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
class CommandSpec:
    name: str
    summary: str
    doc: str
    props: tuple[Prop, ...] = ()
    positionals: tuple[Positional, ...] = ()
    flags: tuple[Flag, ...] = ()
    takes_waiting: bool = False
    takes_match: bool = False
    reply: str = ""  # reply fields besides status/time/id, for help and docs
    render: Render = Render.OK
    render_field: str | None = None
    overrides_status: bool = False  # the reply's "status" is the watcher state (Circus's wart, kept)
    client_only: bool = False  # handled by circusctl itself, never sent to the daemon
    in_circus: bool = True  # Circus 0.19 has this command
    additions: str = ""  # what we accept beyond Circus 0.19
    check: Callable[[dict[str, object]], None] | None = field(default=None, compare=False)

    @property
    def props_by_name(self) -> Mapping[str, Prop]:
        return {p.name: p for p in self.props}

    @property
    def usage(self) -> str:
        words = ["circusctl", self.name]
        for pos in self.positionals:
            words.append(_positional_usage(pos))
        for flag in self.flags:
            if flag.choices:
                text = f"--{flag.option}={'|'.join(flag.choices)}"
            elif flag.metavar:
                text = f"--{flag.option}={flag.metavar}"
            else:
                text = f"--{flag.option}"
            words.append(f"[{text}]")
        return " ".join(words)


class UsageError(ValueError):
    """circusctl arguments that do not fit a command's usage; the message names what is wrong."""


# ---------------------------------------------------------------------------------------------------
# Cross-property checks (a property's own type is checked from the table).


def _check_signal(props: dict[str, object]) -> None:
    if "childpid" in props and "pid" not in props:
        raise ClientError("cannot specify childpid without pid")


def _check_stats(props: dict[str, object]) -> None:
    if "process" in props and "name" not in props:
        raise ClientError("message invalid: 'process' needs 'name', the watcher that pid belongs to")


def _check_nb(props: dict[str, object]) -> None:
    nb = props.get("nb")
    if isinstance(nb, int) and nb < 1:
        raise ClientError(f"message invalid: 'nb' must be at least 1, got {nb}")


def _check_kill(props: dict[str, object]) -> None:
    timeout = props.get("graceful_timeout")
    if isinstance(timeout, float) and timeout < 0:
        raise ClientError(f"message invalid: 'graceful_timeout' must be 0 or more, got {timeout}")


def _check_get(props: dict[str, object]) -> None:
    if props.get("keys") == []:
        raise ClientError("message invalid: 'keys' is empty; name at least one option")


def _check_set(props: dict[str, object]) -> None:
    if props.get("options") == {}:
        raise ClientError("message invalid: 'options' is empty; give at least one key and value")


# ---------------------------------------------------------------------------------------------------
# Shared pieces of the table.

_NAME = Prop("name", PropType.STR, "watcher name", required=True)
_NAME_OPTIONAL = Prop("name", PropType.STR, "watcher name; all watchers when absent")
_WAITING = Prop("waiting", PropType.BOOL, "reply when the work is done instead of at once", default=False)
_MATCH = Prop("match", PropType.MATCH, "how `name` selects watchers, case-insensitive", default=DEFAULT_MATCH)
_WAITING_FLAG = Flag("waiting", "waiting", "wait for the work to finish before replying")
_MATCH_FLAG = Flag("match", "match", "how <name> selects watchers (default glob)", choices=MATCH_MODES)
_POS_NAME = Positional("name", Arity.ONE, "name")
_POS_NAME_OPTIONAL = Positional("name", Arity.OPTIONAL, "name")
_INFO_REPLY = "with waiting and one watcher: `info: {started: [pids], stopped: [pids], kept: [pids]}`"


def _command(
    name: str,
    summary: str,
    doc: str,
    *,
    props: Sequence[Prop] = (),
    positionals: Sequence[Positional] = (),
    flags: Sequence[Flag] = (),
    waiting: bool = False,
    match: bool = False,
    **rest: object,
) -> CommandSpec:
    """One row; `waiting` and `match` add their property and flag the same way on every command."""
    all_props = list(props)
    all_flags = list(flags)
    if waiting:
        all_props.append(_WAITING)
        all_flags.append(_WAITING_FLAG)
    if match:
        all_props.append(_MATCH)
        all_flags.append(_MATCH_FLAG)
    return CommandSpec(
        name=name,
        summary=summary,
        doc=doc,
        props=tuple(all_props),
        positionals=tuple(positionals),
        flags=tuple(all_flags),
        takes_waiting=waiting,
        takes_match=match,
        **rest,
    )


_P = PropType
COMMAND_TABLE: tuple[CommandSpec, ...] = (
    _command(
        "add",
        "Add a watcher",
        "Creates a watcher at run time. It is not written to the config file, so a reloadconfig or a "
        "restart of the daemon forgets it. Without --start it stays stopped.",
        props=(
            _NAME,
            Prop("cmd", _P.STR, "command line to run", required=True),
            Prop("args", _P.ARGS, "arguments appended to cmd"),
            Prop("options", _P.OPTIONS, "watcher options (see the list below)"),
            Prop("start", _P.BOOL, "start the watcher once added", default=False),
        ),
        positionals=(_POS_NAME, Positional("cmd", Arity.COMMAND_LINE, "cmd")),
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
        waiting=True,
        additions="`options` takes any [watcher:NAME] option of docs/options.md, including use_sockets, "
        "priority and autostart (Circus refuses them, so its added watchers cannot use the daemon's "
        "sockets); `waiting` with `start` replies once the watcher is started; circusctl's "
        "`--option KEY=VALUE`.",
    ),
    _command(
        "rm",
        "Remove a watcher",
        "Stops the watcher's processes gracefully (unless nostop) and forgets the watcher.",
        props=(_NAME, Prop("nostop", _P.BOOL, "leave its processes running", default=False)),
        positionals=(_POS_NAME,),
        flags=(Flag("nostop", "nostop", "do not stop the watcher's processes"),),
        waiting=True,
    ),
    _command(
        "start",
        "Start the arbiter or a watcher",
        "Without a name, starts every autostart watcher in priority order.",
        props=(_NAME_OPTIONAL,),
        positionals=(_POS_NAME_OPTIONAL,),
        waiting=True,
        match=True,
        reply=_INFO_REPLY,
    ),
    _command(
        "stop",
        "Stop watchers",
        "Sends each process its stop signal, then SIGKILL after graceful_timeout. Without a name, "
        "stops every watcher; the daemon keeps running.",
        props=(_NAME_OPTIONAL,),
        positionals=(_POS_NAME_OPTIONAL,),
        waiting=True,
        match=True,
        reply=_INFO_REPLY,
    ),
    _command(
        "restart",
        "Restart the arbiter or a watcher",
        "Stops then starts: there is a gap while no process serves. Prefer reload for zero-downtime.",
        props=(_NAME_OPTIONAL,),
        positionals=(_POS_NAME_OPTIONAL,),
        waiting=True,
        match=True,
        reply=_INFO_REPLY,
    ),
    _command(
        "reload",
        "Reload the arbiter or a watcher",
        "Graceful by default: new processes are started and old ones are stopped once their "
        "replacements are ready. --terminate stops then starts instead; --sequential replaces one "
        "process at a time.",
        props=(
            _NAME_OPTIONAL,
            Prop("graceful", _P.BOOL, "replace processes without a gap", default=True),
            Prop("sequential", _P.BOOL, "replace one process at a time", default=False),
        ),
        positionals=(_POS_NAME_OPTIONAL,),
        flags=(
            Flag("terminate", "graceful", "stop then start (not graceful)", const=False),
            Flag("sequential", "sequential", "replace one process at a time"),
        ),
        waiting=True,
        match=True,
        reply=_INFO_REPLY,
        additions="`match` (Circus reloads by exact name only).",
    ),
    _command(
        "reloadconfig",
        "Reload the configuration file",
        "Re-reads the config file and applies the difference: new watchers and sockets are added, "
        "removed ones stopped and closed, changed ones updated.",
        waiting=True,
    ),
    _command(
        "incr",
        "Increment the number of processes in a watcher",
        "Raises the watcher's target number of processes by nb (default 1).",
        props=(_NAME, Prop("nb", _P.INT, "how many processes to add", default=1)),
        positionals=(_POS_NAME, Positional("nb", Arity.OPTIONAL, "nb")),
        waiting=True,
        reply="`numprocesses`: the new target (and `singleton: true` for a singleton)",
        render=Render.FIELD,
        render_field="numprocesses",
        check=_check_nb,
    ),
    _command(
        "decr",
        "Decrement the number of processes in a watcher",
        "Lowers the watcher's target number of processes by nb (default 1); the oldest processes stop.",
        props=(_NAME, Prop("nb", _P.INT, "how many processes to remove", default=1)),
        positionals=(_POS_NAME, Positional("nb", Arity.OPTIONAL, "nb")),
        waiting=True,
        reply="`numprocesses`: the new target",
        render=Render.FIELD,
        render_field="numprocesses",
        check=_check_nb,
    ),
    _command(
        "numprocesses",
        "Get the number of processes",
        "With a name, the number of live processes of that watcher; without, the sum over all watchers.",
        props=(_NAME_OPTIONAL,),
        positionals=(_POS_NAME_OPTIONAL,),
        reply="`numprocesses` (and `watcher_name` with a name)",
        render=Render.FIELD,
        render_field="numprocesses",
    ),
    _command(
        "numwatchers",
        "Get the number of watchers",
        "Counts every watcher, including plugins and circusd-stats.",
        reply="`numwatchers`",
        render=Render.FIELD,
        render_field="numwatchers",
    ),
    _command(
        "list",
        "Get list of watchers or processes in a watcher",
        "Without a name, the sorted watcher names; with a name, the pids of that watcher.",
        props=(_NAME_OPTIONAL,),
        positionals=(_POS_NAME_OPTIONAL,),
        reply="`watchers: [names]` or, with a name, `pids: [pids]`",
        render=Render.NAMES,
    ),
    _command(
        "processes",
        "Get the processes of a watcher",
        "Each process of the watcher as the daemon tracks it (no sampling, so it is cheap with "
        "thousands): pid, wid, state, whether it reported ready, when it started, its generation. "
        "The web console's process table reads it.",
        props=(_NAME,),
        positionals=(_POS_NAME,),
        reply="`processes: [{pid, wid, state, ready, started, generation}]`, by wid",
        render=Render.FIELD,
        render_field="processes",
        in_circus=False,
    ),
    _command(
        "listsockets",
        "Get the list of sockets",
        "The daemon's listening sockets, sorted by fd.",
        reply="`sockets: [{fd, name, backlog, host, port} or {fd, name, backlog, path}]`",
        render=Render.SOCKETS,
    ),
    _command(
        "status",
        "Get the status of a watcher or all watchers",
        "States are stopped, starting, active and stopping.",
        props=(_NAME_OPTIONAL,),
        positionals=(_POS_NAME_OPTIONAL,),
        reply="`statuses: {name: state}`; with a name the reply's own `status` field is the state "
        '(e.g. `"status": "active"` instead of "ok"), as in Circus',
        render=Render.STATUS,
        overrides_status=True,
    ),
    _command(
        "stats",
        "Get process infos",
        "CPU, memory and age of every process, of one watcher's processes, or of one process.",
        props=(
            Prop("name", _P.STR, "watcher name; all watchers when absent"),
            Prop("process", _P.INT, "one pid of that watcher"),
            Prop("extended", _P.BOOL, "include what the extended_stats hook adds", default=False),
        ),
        positionals=(_POS_NAME_OPTIONAL, Positional("process", Arity.OPTIONAL, "pid")),
        flags=(Flag("extended", "extended", "include info from the extended_stats hook"),),
        reply="no name: `infos: {watcher: {pid: info}}`; name: `name`, `info: {pid: info}`; "
        "process: `process`, `info`",
        render=Render.STATS,
        check=_check_stats,
    ),
    _command(
        "dstats",
        "Get circusd stats",
        "Process info of the daemon itself.",
        reply="`info: {...}`",
        render=Render.PROCESS_INFO,
    ),
    _command(
        "options",
        "Get the value of all options for a watcher",
        "Every option of the watcher, including free-form keys from its config section.",
        props=(_NAME,),
        positionals=(_POS_NAME,),
        reply="`options: {key: value}`",
        render=Render.OPTIONS,
    ),
    _command(
        "get",
        "Get the value of specific watcher options",
        "An unknown key is an error naming the key.",
        props=(_NAME, Prop("keys", _P.STR_LIST, "option names", required=True)),
        positionals=(_POS_NAME, Positional("keys", Arity.REST, "key")),
        reply="`options: {key: value}`",
        render=Render.OPTIONS,
        check=_check_get,
    ),
    _command(
        "set",
        "Set a watcher option",
        "Options that change how processes are started (cmd, args, env, uid, gid, working_dir, shell, "
        "max_age...) trigger a graceful reload of the watcher; numprocesses adjusts the process count. "
        "The settable options are marked in docs/options.md; values may be JSON values or the ini text.",
        props=(_NAME, Prop("options", _P.OPTIONS, "keys and values to set", required=True)),
        positionals=(_POS_NAME, Positional("options", Arity.PAIRS, "key")),
        waiting=True,
        check=_check_set,
    ),
    _command(
        "signal",
        "Send a signal",
        "Sends a signal to every process of a watcher, or to one pid; --children sends it to the "
        "children of the process(es) instead, --recursive to the process(es) and all their descendants.",
        props=(
            _NAME,
            Prop("signum", _P.SIGNAL, "signal name or number (USR1, SIGUSR1, 10, SIGRTMIN+1)", required=True),
            Prop("pid", _P.INT, "one process of the watcher"),
            Prop("childpid", _P.INT, "one child of that process"),
            Prop("children", _P.BOOL, "signal the children only", default=False),
            Prop("recursive", _P.BOOL, "signal the processes and all their descendants", default=False),
        ),
        positionals=(
            _POS_NAME,
            Positional("pid", Arity.OPTIONAL, "pid"),
            Positional("signum", Arity.ONE, "signum"),
        ),
        flags=(
            Flag("children", "children", "only signal the children of the process"),
            Flag("recursive", "recursive", "signal the process and all its descendants"),
        ),
        check=_check_signal,
    ),
    _command(
        "kill",
        "Kill a watcher's processes",
        "Sends the stop signal (or signum), waits up to graceful_timeout, then SIGKILLs the process "
        "and its descendants. The watcher then replaces them as usual.",
        props=(
            _NAME,
            Prop("pid", _P.INT, "one process of the watcher"),
            Prop("signum", _P.SIGNAL, "signal to send first instead of the watcher's stop_signal"),
            Prop("graceful_timeout", _P.NUMBER, "seconds to wait before SIGKILL"),
        ),
        positionals=(_POS_NAME, Positional("pid", Arity.OPTIONAL, "pid")),
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
        waiting=True,
        check=_check_kill,
    ),
    _command(
        "globaloptions",
        "Get the arbiter options",
        "The daemon's endpoints and settings; with an option name, just that one.",
        props=(Prop("option", _P.STR, "one option name"),),
        positionals=(Positional("option", Arity.OPTIONAL, "option"),),
        reply="`options: {endpoint, pubsub_endpoint, stats_endpoint, check_delay, multicast_endpoint, ...}`",
        render=Render.OPTIONS,
    ),
    _command(
        "quit",
        "Stop all watchers gracefully, then the daemon exits",
        "The reply comes before the daemon exits; with --waiting, after the watchers are stopped.",
        waiting=True,
    ),
    _command(
        "listen",
        "Subscribe to a watcher event",
        "Prints events from the daemon's pubsub endpoint as they happen, one per line, until Ctrl-C. "
        "Topics are prefixes such as watcher.web. (all events when none is given). The pubsub "
        "endpoint is asked from the daemon unless given with --pubsub-endpoint or as an argument "
        "that contains '://'.",
        props=(
            Prop("topics", _P.STR_LIST, "topic prefixes to subscribe to"),
            Prop("pubsub_endpoint", _P.STR, "the daemon's pubsub endpoint"),
        ),
        positionals=(Positional("topics", Arity.ANY, "topic"),),
        flags=(Flag("pubsub-endpoint", "pubsub_endpoint", "the pubsub endpoint", metavar="ENDPOINT"),),
        client_only=True,
    ),
)

COMMANDS: Mapping[str, CommandSpec] = {c.name: c for c in COMMAND_TABLE}


def get_command(name: str) -> CommandSpec:
    """The spec of `name` (case-insensitive); ClientError errno 2 with Circus's message if unknown."""
    spec = COMMANDS.get(name.lower()) if isinstance(name, str) else None
    if spec is None:
        raise ClientError(f"unknown command: {name!r}", Errno.UNKNOWN_COMMAND)
    return spec


def validate(command: str, properties: Mapping[str, object] | None, *, fill_defaults: bool = True) -> dict:
    """Check `properties` against the table and return them normalized (signals as ints, defaults
    filled unless fill_defaults is False). Raises ClientError with Circus's errno and message style.

    A null value counts as absent, as Circus's circusctl sends nulls for options not given.
    """
    spec = get_command(command)
    if spec.client_only:
        raise ClientError(
            f"{spec.name} is a circusctl command, not a daemon command: subscribe to the daemon's "
            "pubsub endpoint (globaloptions pubsub_endpoint) instead"
        )
    given = dict(properties or {})
    known = spec.props_by_name
    for key in given:
        if key not in known:
            hint = _did_you_mean(key, known)
            raise ClientError(f"message invalid: unknown property {key!r} for {spec.name}{hint}")
    normalized: dict[str, object] = {}
    for prop in spec.props:
        value = given.get(prop.name)
        if value is None:
            if prop.required:
                raise ClientError(f"message invalid {prop.name!r} is missing")
            if fill_defaults and prop.default is not None:
                normalized[prop.name] = prop.default
            continue
        normalized[prop.name] = _check_property(spec, prop, value)
    if spec.check is not None:
        spec.check(normalized)
    return normalized


def match_names(pattern: str, names: Sequence[str], match: str = DEFAULT_MATCH) -> list[str]:
    """The names (in their given order) that `pattern` selects; all modes are case-insensitive.

    simple: equal; glob: fnmatch over the whole name; regex: re.fullmatch. An invalid regex or mode
    is a ClientError (errno 3).
    """
    mode = match.lower()
    if mode == "simple":
        wanted = pattern.lower()
        return [n for n in names if n.lower() == wanted]
    if mode == "glob":
        glob = pattern.lower()
        return [n for n in names if fnmatch.fnmatchcase(n.lower(), glob)]
    if mode == "regex":
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ClientError(f"invalid regex {pattern!r}: {exc}") from None
        return [n for n in names if regex.fullmatch(n)]
    raise ClientError(f"message invalid: match must be one of {', '.join(MATCH_MODES)}, got {match!r}")


def bind_positionals(spec: CommandSpec, words: Sequence[str]) -> dict[str, object]:
    """circusctl's positional words for `spec` as properties (e.g. `signal web 42 USR1`).

    Required slots are served first; optional slots take leftover words from left to right; a
    variadic slot (rest, command line, pairs) takes what remains. Raises UsageError.
    """
    minimum = _MINIMUM_WORDS
    needed = sum(minimum[p.arity] for p in spec.positionals)
    variadic = any(p.arity in _VARIADIC for p in spec.positionals)
    if len(words) < needed:
        missing = [f"<{p.metavar}>" for p in spec.positionals if minimum[p.arity]]
        raise UsageError(f"{spec.name}: missing argument(s); it needs {' '.join(missing)}")
    spare = len(words) - needed
    optional_count = sum(1 for p in spec.positionals if p.arity is Arity.OPTIONAL)
    if not variadic and spare > optional_count:
        extra = " ".join(words[needed + optional_count :])
        raise UsageError(f"{spec.name}: too many arguments ({extra})")
    props: dict[str, object] = {}
    queue = list(words)
    for pos in spec.positionals:
        prop = spec.props_by_name[pos.prop]
        if pos.arity is Arity.OPTIONAL:
            if spare == 0:
                continue
            spare -= 1
            props[pos.prop] = _word_value(spec, prop, queue.pop(0))
        elif pos.arity is Arity.ONE:
            props[pos.prop] = _word_value(spec, prop, queue.pop(0))
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
                raise UsageError(f"{spec.name}: {odd}: a key has no value")
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


def _word_value(spec: CommandSpec, prop: Prop, word: str) -> object:
    if prop.type is PropType.INT:
        try:
            return int(word)
        except ValueError:
            raise UsageError(f"{spec.name}: <{prop.name}> must be an integer, got {word!r}") from None
    if prop.type is PropType.STR_LIST:
        return [word]
    return word


def _check_property(spec: CommandSpec, prop: Prop, value: object) -> object:
    kind = prop.type
    if kind is PropType.STR and isinstance(value, str):
        return value
    if kind is PropType.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            return int(value)
    if kind is PropType.NUMBER:
        number = _finite_number(value)
        if number is not None:
            return number
    if kind is PropType.BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.strip().lower() in ("true", "1", "yes")
    if kind is PropType.STR_LIST:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    if kind is PropType.ARGS and (
        isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    ):
        return value
    if kind is PropType.OPTIONS and isinstance(value, dict):
        # Which keys `add`/`set` accept and their values are the config option table's business
        # (config.is_settable, config.set_watcher_option); the wire only fixes the shape.
        return value
    if kind is PropType.SIGNAL:
        try:
            return signal_number(value)
        except ValueError as exc:
            raise ClientError(str(exc)) from None
    if kind is PropType.MATCH and isinstance(value, str) and value.lower() in MATCH_MODES:
        return value.lower()
    raise ClientError(
        f"message invalid: {prop.name!r} of {spec.name} must be {_article(kind.value)}, "
        f"got {json_type(value)} {value!r}"
    )


_INT_TEXT = re.compile(r"-?\d+")


def _finite_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _article(text: str) -> str:
    if text.startswith(("one of", "list", "string or")):
        return text if text.startswith("one of") else f"a {text}"
    return f"an {text}" if text[0] in "aeiou" else f"a {text}"


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages: null, boolean, number, string..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _did_you_mean(key: str, known: Mapping[str, Prop]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    valid = ", ".join(known) or "none"
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; valid properties: {valid}"


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
