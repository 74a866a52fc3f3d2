"""circusctl: send one command to circusd and print the reply, follow its events (`listen`), or run
an interactive shell when no command is given. Usage and flags are Circus 0.19's.

Rule: the command table (protocol/commands.py) drives parsing, help and completion; this module
only maps argv to a request and a reply to text and an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import import_module
from typing import Any, TextIO

import zmq

from circus_web_stack.cli.client import (
    CURVE_CLIENT_KEY_ENV,
    CURVE_SERVER_KEY_ENV,
    DEFAULT_TIMEOUT_S,
    ENDPOINT_ENV,
    CallError,
    CallTimeout,
    CircusClient,
    CurveKeys,
    apply_curve,
    curve_keys_from_options,
    default_endpoint,
    iter_messages,
)
from circus_web_stack.cli.progress import ReloadProgress
from circus_web_stack.cli.render import render_error, render_json, render_reply
from circus_web_stack.core.errors import ClientError
from circus_web_stack.protocol.commands import (
    COMMAND_TABLE,
    COMMANDS,
    CommandSpec,
    PropType,
    UsageError,
    bind_positionals,
    validate,
)
from circus_web_stack.protocol.endpoints import endpoint_problem, ipc_path

EXIT_OK = 0
EXIT_ERROR_REPLY = 1  # the daemon answered with an error
EXIT_USAGE = 2  # the command line is wrong; nothing was sent
# Commands sent with --waiting reply when their work is done (a rolling reload, a graceful stop).
WAITING_TIMEOUT_S = 300.0
EXIT_UNREACHABLE = 3  # no reply from the daemon (not running, wrong endpoint, permissions, timeout)

HISTORY_FILE = "~/.circusctl_history"
NAME_CACHE_S = 5.0
PROG = "circusctl"
_LOCAL_COMMANDS = {
    "help": "Show help for circusctl or a command",
    "completion": "Print a shell completion script",
}


@dataclass
class Options:
    """Global options; a command line in the shell may override json, prettify and timeout."""

    endpoint: str
    timeout: float | None = None  # None: DEFAULT_TIMEOUT_S, or WAITING_TIMEOUT_S with --waiting
    json: bool = False
    prettify: bool = False
    curve_server_key: str | None = None
    curve_client_key: str | None = None


@dataclass
class Session:
    """What one circusctl run shares between commands: options, output streams, open clients."""

    options: Options
    out: TextIO
    err: TextIO
    _clients: dict[tuple, CircusClient] = field(default_factory=dict)

    def client(self, options: Options) -> CircusClient:
        key = (options.endpoint, options.curve_server_key, options.curve_client_key)
        client = self._clients.get(key)
        if client is None:
            client = CircusClient(options.endpoint, curve=_curve_keys(options))
            self._clients[key] = client
        client.timeout = options.timeout or DEFAULT_TIMEOUT_S
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    try:
        parsed = _global_parser().parse_args(args)
    except UsageError as exc:
        return _usage_failure(err, str(exc))
    if parsed.version:
        print(f"{PROG} {_version()}", file=out)
        return EXIT_OK
    options = Options(
        endpoint=parsed.endpoint or default_endpoint(),
        timeout=parsed.timeout,
        json=parsed.json,
        prettify=parsed.prettify,
        curve_server_key=parsed.curve_server_key or os.environ.get(CURVE_SERVER_KEY_ENV),
        curve_client_key=parsed.curve_client_key or os.environ.get(CURVE_CLIENT_KEY_ENV),
    )
    if parsed.command == "help":
        return _print_help(out, err, parsed.args[0] if parsed.args else None)
    if parsed.help:
        return _print_help(out, err, parsed.command if parsed.command in COMMANDS else None)
    if parsed.command == "completion":
        return _print_completion(out, err, parsed.args)
    session = Session(options, out, err)
    try:
        if parsed.command is None:
            from circus_web_stack.cli.shell import run_shell  # only the shell needs cmd and readline

            return run_shell(session, sys.stdin)
        return run_command(session, parsed.command, parsed.args)
    finally:
        session.close()


def run_command(session: Session, command: str, words: Sequence[str]) -> int:
    """Run one command line (`incr web 2 --waiting`) and print its outcome; returns the exit code."""
    spec = COMMANDS.get(command.lower())
    if spec is None:
        known = ", ".join(c.name for c in COMMAND_TABLE)
        return _usage_failure(session.err, f"unknown command {command!r}; commands: {known}")
    try:
        parsed = _command_parser(spec).parse_intermixed_args(list(words))
        if parsed.help:
            print(command_help(spec), file=session.out)
            return EXIT_OK
        options = _override(session.options, parsed)
        properties = _properties(spec, parsed)
        if spec.name == "listen":
            return _listen(session, options, properties)
        properties = validate(spec.name, properties, fill_defaults=False)
    except UsageError as exc:
        return _usage_failure(session.err, str(exc), spec)
    except ClientError as exc:
        return _usage_failure(session.err, f"{spec.name}: {exc.reason}", spec)
    unreachable = _unreachable_reason(options.endpoint)
    if unreachable:
        print(f"{PROG}: {unreachable}", file=session.err)
        return EXIT_UNREACHABLE
    if options.timeout is None and properties.get("waiting"):
        # A reload of 4 Django workers outlasts Circus's 5 s; an unreachable daemon still fails at once.
        options = replace(options, timeout=WAITING_TIMEOUT_S)
    try:
        client = session.client(options)
    except (UsageError, ValueError, zmq.ZMQError) as exc:
        return _usage_failure(session.err, str(exc), spec)
    try:
        with _progress_for(session, options, spec.name, properties):
            reply = client.call_message(spec.name, properties)
    except CallTimeout as exc:
        print(_timeout_message(exc, options), file=session.err)
        return EXIT_UNREACHABLE
    except (CallError, ValueError) as exc:
        print(f"{PROG}: {exc}", file=session.err)
        return EXIT_UNREACHABLE
    return _print_reply(session, options, spec.name, reply)


def _progress_for(session: Session, options: Options, command: str, properties: dict[str, object]) -> Any:
    """A live progress line for `reload NAME --waiting` when stderr is a terminal; else nothing."""
    name = properties.get("name")
    if command != "reload" or not properties.get("waiting") or not name or not session.err.isatty():
        return contextlib.nullcontext()
    try:
        pubsub = session.client(options).call_ok("globaloptions")["options"]["pubsub_endpoint"]
        curve = _curve_keys(options)
    except (CallError, KeyError, UsageError, ValueError):
        return contextlib.nullcontext()  # no progress, but the reload itself goes ahead
    return ReloadProgress(
        pubsub, str(name), session.err, curve_apply=(lambda sock: apply_curve(sock, curve)) if curve else None
    )


def command_help(spec: CommandSpec) -> str:
    lines = [f"usage: {spec.usage}", "", f"{spec.summary}. {spec.doc}"]
    arguments = [(f"<{p.metavar}>", spec.props_by_name[p.prop].doc) for p in spec.positionals]
    flags = [(f"--{f.option}", f.doc) for f in spec.flags]
    width = max((len(name) for name, _ in arguments + flags), default=0)
    if arguments:
        lines += ["", "arguments:", *(f"  {name:<{width}}  {doc}" for name, doc in arguments)]
    if flags:
        lines += ["", "options:", *(f"  {name:<{width}}  {doc}" for name, doc in flags)]
    if spec.reply:
        lines += ["", f"reply: {spec.reply}"]
    return "\n".join(lines)


def general_help() -> str:
    width = max(len(c.name) for c in COMMAND_TABLE)
    lines = [
        f"usage: {PROG} [--endpoint E] [--timeout T] [--json] [--prettify] [--help] [--version]",
        "                 [--curve-server-key K] [--curve-client-key F] command [args]",
        "",
        "Controls a circusd daemon. Without a command, starts an interactive shell.",
        "",
        "commands:",
        *(f"  {c.name:<{width}}  {c.summary}" for c in COMMAND_TABLE),
        *(f"  {name:<{width}}  {summary}" for name, summary in _LOCAL_COMMANDS.items()),
        "",
        "options:",
        f"  --endpoint E          control endpoint (default: ${ENDPOINT_ENV}, else circusd's default socket)",
        f"  --timeout T           seconds to wait for a reply (default {DEFAULT_TIMEOUT_S:g}; "
        f"{WAITING_TIMEOUT_S:g} with --waiting)",
        "  --json                print replies as JSON",
        "  --prettify            print replies as indented JSON",
        f"  --curve-server-key K  circusd's CURVE public key, Z85 or a file (${CURVE_SERVER_KEY_ENV})",
        f"  --curve-client-key F  this client's CURVE secret key file (${CURVE_CLIENT_KEY_ENV})",
        "  --version             print the version",
        "",
        f"exit codes: {EXIT_OK} ok, {EXIT_ERROR_REPLY} error reply, {EXIT_USAGE} usage error, "
        f"{EXIT_UNREACHABLE} daemon unreachable",
        f"'{PROG} help COMMAND' describes a command.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Parsing.


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> None:
        raise UsageError(message)


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--endpoint", default=default(None))
    parser.add_argument("--timeout", type=_positive_float, default=default(None))
    parser.add_argument("--json", action="store_true", default=default(False))
    parser.add_argument("--prettify", action="store_true", default=default(False))
    parser.add_argument("--curve-server-key", default=default(None))
    parser.add_argument("--curve-client-key", default=default(None))


def _global_parser() -> _Parser:
    parser = _Parser(prog=PROG, add_help=False, allow_abbrev=False)
    _add_global_options(parser, suppress=False)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--version", action="store_true")
    parser.add_argument("command", nargs="?")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _command_parser(spec: CommandSpec) -> _Parser:
    parser = _Parser(prog=f"{PROG} {spec.name}", add_help=False, allow_abbrev=False)
    _add_global_options(parser, suppress=True)  # `circusctl status web --json` works too
    parser.add_argument("-h", "--help", action="store_true")
    for flag in spec.flags:
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


def _properties(spec: CommandSpec, parsed: argparse.Namespace) -> dict[str, object]:
    properties = bind_positionals(spec, parsed.words)
    for flag in spec.flags:
        value = getattr(parsed, _flag_dest(flag.option))
        if value is None:
            continue
        if flag.repeatable:
            pairs = {}
            for item in value:
                key, sep, text = item.partition("=")
                if not sep or not key:
                    raise UsageError(f"{spec.name}: --{flag.option} expects {flag.metavar}, got {item!r}")
                pairs[key.lower()] = text
            properties[flag.prop] = {**properties.get(flag.prop, {}), **pairs}
        else:
            properties[flag.prop] = value
    for prop in spec.props:
        if prop.type is PropType.OPTIONS and prop.name in properties:
            properties[prop.name] = wire_options(spec.name, properties[prop.name])
    return properties


_NUMBER_TEXT = re.compile(r"-?\d+(\.\d*)?")
_BOOL_TEXT = frozenset({"true", "false", "yes", "no", "on", "off"})


def wire_options(command: str, texts: dict[str, str]) -> dict[str, object]:
    """Typed-in `key value` options checked against the config option table (unknown keys, and for
    `set` keys that cannot change on a running watcher, are usage errors). A value whose text is a
    number or a boolean is sent as a JSON number or boolean when the option's kind reads it so, as
    Circus's circusctl does; any other value goes as text, which the daemon parses like the ini."""
    # Imported here: the option table costs more start-up time than most commands take to run.
    from circus_web_stack.config.kinds import did_you_mean
    from circus_web_stack.config.options import WATCHER_OPTIONS, Section, family_of, is_settable, known_keys

    options: dict[str, object] = {}
    for key, text in texts.items():
        option = WATCHER_OPTIONS.get(key)
        if option is None and family_of(key) is None:
            raise UsageError(
                f"{command}: unknown option {key!r}{did_you_mean(key, known_keys(Section.WATCHER))}"
            )
        if command == "set" and not is_settable(key):
            raise UsageError(f"{command}: {key!r} cannot be set on a running watcher (see docs/options.md)")
        options[key] = text if option is None else _wire_value(option.kind, text)
    return options


def _wire_value(kind: Any, text: str) -> object:  # kind: config.kinds.Kind
    from circus_web_stack.config.kinds import InvalidValue

    stripped = text.strip()
    if not (_NUMBER_TEXT.fullmatch(stripped) or stripped.lower() in _BOOL_TEXT):
        return text
    try:
        value = kind.parse(text)
    except InvalidValue:
        return text  # the daemon answers with the reason
    return value if isinstance(value, (bool, int, float)) else text


def _override(options: Options, parsed: argparse.Namespace) -> Options:
    changes = {
        name: getattr(parsed, name)
        for name in ("endpoint", "timeout", "json", "prettify", "curve_server_key", "curve_client_key")
        if hasattr(parsed, name)
    }
    return replace(options, **changes)


def _flag_dest(option: str) -> str:
    return "flag_" + option.replace("-", "_")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text!r}")
    return value


# ---------------------------------------------------------------------------------------------------
# Output and failures.


def _print_reply(session: Session, options: Options, command: str, reply: dict) -> int:
    failed = reply.get("status") == "error"
    if options.json or options.prettify:
        print(render_json(reply, pretty=options.prettify), file=session.out)
    elif failed:
        print(render_error(reply), file=session.err)
    else:
        text = render_reply(command, reply)
        if text:
            print(text, file=session.out)
    return EXIT_ERROR_REPLY if failed else EXIT_OK


def _usage_failure(err: TextIO, message: str, spec: CommandSpec | None = None) -> int:
    print(f"{PROG}: {message}", file=err)
    hint = f"usage: {spec.usage}" if spec else f"run '{PROG} help' for the commands and options"
    print(hint, file=err)
    return EXIT_USAGE


def _unreachable_reason(endpoint: str) -> str | None:
    """Why `endpoint` cannot be reached, found without waiting for a timeout (ipc sockets only)."""
    problem = endpoint_problem(endpoint)
    if problem:
        return problem
    path = ipc_path(endpoint)
    if path is None or path.startswith("@"):  # tcp://, or a Linux abstract socket name
        return None
    if not os.path.exists(path):
        return (
            f"no control socket at {path}: is circusd running? If it uses another endpoint, "
            f"pass --endpoint or set {ENDPOINT_ENV} (circusd's endpoint is in its config's [circus] section)."
        )
    if not os.access(path, os.R_OK | os.W_OK):
        return (
            f"permission denied on {path}: the control socket is private to the user running circusd "
            "(run circusctl as that user, or see endpoint_owner in the config)."
        )
    return None


def _timeout_message(exc: CallTimeout, options: Options) -> str:
    lines = [f"{PROG}: {exc}"]
    if not exc.connected:
        lines += [
            "  - is circusd running, and is this its control endpoint? Pass --endpoint or set "
            f"{ENDPOINT_ENV} (circusd's endpoint is in its config's [circus] section).",
        ]
        if options.curve_server_key:
            lines.append(
                "  - with CURVE: is --curve-server-key the daemon's public key, and is this client allowed?"
            )
        if ipc_path(exc.endpoint):
            lines.append(
                "  - can you read and write the socket file? (ls -l " + str(ipc_path(exc.endpoint)) + ")"
            )
    else:
        lines += [
            "  - circusd accepted the connection but did not answer in time: it may be busy or stuck.",
            "  - for a long operation, raise --timeout, or leave out --waiting to get the reply at once.",
        ]
    return "\n".join(lines)


def _curve_keys(options: Options) -> CurveKeys | None:
    return curve_keys_from_options(options.curve_server_key, options.curve_client_key)


def _version() -> str:
    return str(getattr(import_module("circus_web_stack"), "__version__", "unknown"))


# ---------------------------------------------------------------------------------------------------
# listen: the event stream.


def _listen(session: Session, options: Options, properties: dict[str, object]) -> int:
    words = [str(w) for w in properties.get("topics") or []]
    endpoints = [w for w in words if "://" in w]
    topics = [w for w in words if "://" not in w] or [""]
    pubsub = properties.get("pubsub_endpoint") or (endpoints[0] if endpoints else None)
    if pubsub is None:
        unreachable = _unreachable_reason(options.endpoint)
        if unreachable:
            print(f"{PROG}: {unreachable}", file=session.err)
            return EXIT_UNREACHABLE
        try:
            reply = session.client(options).call_ok("globaloptions")
        except CallTimeout as exc:
            print(_timeout_message(exc, options), file=session.err)
            print("  - or give the pubsub endpoint itself: --pubsub-endpoint ENDPOINT", file=session.err)
            return EXIT_UNREACHABLE
        except CallError as exc:
            print(f"{PROG}: {exc}", file=session.err)
            return EXIT_ERROR_REPLY
        pubsub = reply.get("options", {}).get("pubsub_endpoint")
        if not pubsub:
            print(
                f"{PROG}: circusd did not report a pubsub_endpoint; pass --pubsub-endpoint", file=session.err
            )
            return EXIT_ERROR_REPLY
    try:
        curve = _curve_keys(options)
    except (UsageError, ValueError) as exc:
        return _usage_failure(session.err, str(exc))
    try:
        for frames in iter_messages(str(pubsub), topics, curve=curve):
            topic = frames[0].decode("utf-8", "replace")
            payload = b" ".join(frames[1:]).decode("utf-8", "replace")
            print(f"{topic}: {payload}", file=session.out, flush=True)
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------
# help and completion.


def _print_help(out: TextIO, err: TextIO, topic: str | None) -> int:
    if topic is None:
        print(general_help(), file=out)
        return EXIT_OK
    spec = COMMANDS.get(topic.lower())
    if spec is None:
        if topic in _LOCAL_COMMANDS:
            print(f"{PROG} {topic}: {_LOCAL_COMMANDS[topic]}", file=out)
            return EXIT_OK
        return _usage_failure(err, f"no help for unknown command {topic!r}")
    print(command_help(spec), file=out)
    return EXIT_OK


def _print_completion(out: TextIO, err: TextIO, args: Sequence[str]) -> int:
    if list(args) != ["bash"]:
        return _usage_failure(err, "usage: circusctl completion bash  (only bash is supported)")
    print(bash_completion_script(), file=out)
    return EXIT_OK


def _value_options() -> str:
    """The options that take a value, so the completion script can skip their argument."""
    names = ["--timeout", "--curve-server-key", "--curve-client-key"]
    for spec in COMMAND_TABLE:
        for flag in spec.flags:
            if flag.takes_value and f"--{flag.option}" not in names:
                names += [f"--{flag.option}", *(f"--{a}" for a in flag.aliases)]
    return "|".join(names)


def bash_completion_script() -> str:
    """A bash completion script: commands, each command's flags, and watcher names (asked from the
    daemon with `circusctl list`, using the --endpoint given on the line)."""
    commands = " ".join([c.name for c in COMMAND_TABLE] + list(_LOCAL_COMMANDS))
    global_flags = (
        "--endpoint --timeout --json --prettify --help --version --curve-server-key --curve-client-key"
    )
    cases = []
    for spec in COMMAND_TABLE:
        flags = " ".join(f"--{f.option}" for f in spec.flags)
        cases.append(f"        {spec.name}) flags='{flags}' ;;")
    value_options = _value_options()
    name_commands = "|".join(
        c.name for c in COMMAND_TABLE if c.positionals and c.positionals[0].prop == "name" and c.name != "add"
    )
    return "\n".join(
        [
            "# bash completion for circusctl; generated by `circusctl completion bash`.",
            "# Install: circusctl completion bash > /etc/bash_completion.d/circusctl",
            "_circusctl() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}"',
            '    local cmd="" endpoint=() i nargs=0',
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        case "${COMP_WORDS[i]}" in',
            '            --endpoint) endpoint=(--endpoint "${COMP_WORDS[i+1]}"); ((i++)) ;;',
            f"            {value_options}) ((i++)) ;;",
            "            -*) ;;",
            '            *) if [[ -z "$cmd" ]]; then cmd="${COMP_WORDS[i]}"; else ((nargs++)); fi ;;',
            "        esac",
            "    done",
            '    if [[ -z "$cmd" ]]; then',
            '        if [[ "$cur" == -* ]]; then',
            f'            COMPREPLY=($(compgen -W "{global_flags}" -- "$cur"))',
            "        else",
            f'            COMPREPLY=($(compgen -W "{commands}" -- "$cur"))',
            "        fi",
            "        return",
            "    fi",
            "    local flags=''",
            '    case "$cmd" in',
            *cases,
            "        completion) flags='' ;;",
            "    esac",
            '    if [[ "$cur" == -* ]]; then',
            '        COMPREPLY=($(compgen -W "$flags --json --prettify --help" -- "$cur"))',
            "        return",
            "    fi",
            '    if [[ "$cmd" == help ]]; then',
            f'        COMPREPLY=($(compgen -W "{commands}" -- "$cur"))',
            '    elif [[ "$cmd" == completion ]]; then',
            '        COMPREPLY=($(compgen -W "bash" -- "$cur"))',
            "    elif [[ $nargs -eq 0 ]]; then",
            '        case "$cmd" in',
            f"            {name_commands})",
            '                local names; names="$(circusctl "${endpoint[@]}" --timeout 1 list 2>/dev/null)"',
            '                COMPREPLY=($(compgen -W "$names" -- "$cur")) ;;',
            "        esac",
            "    fi",
            "}",
            "complete -F _circusctl circusctl",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
