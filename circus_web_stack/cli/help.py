"""circusctl's help texts and its bash completion script, derived from the command grammar.

Rule: pure text from cli/grammar.py and the wire table's summaries; nothing here is written by hand
per command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from circus_web_stack.cli.argv import PROG
from circus_web_stack.cli.exit_codes import (
    EXIT_CLOSED_PIPE,
    EXIT_ERROR_REPLY,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from circus_web_stack.cli.grammar import GRAMMAR, Grammar
from circus_web_stack.client.daemon import (
    CURVE_CLIENT_KEY_ENV,
    CURVE_SERVER_KEY_ENV,
    DEFAULT_TIMEOUT_S,
    ENDPOINT_ENV,
    WAITING_TIMEOUT_S,
)

LOCAL_COMMANDS = {
    "help": "Show help for circusctl or a command",
    "completion": "Print a shell completion script",
}


def command_help(grammar: Grammar) -> str:
    spec = grammar.spec
    lines = [f"usage: {grammar.usage}", "", f"{spec.summary}. {spec.doc}"]
    arguments = [(f"<{p.metavar}>", spec.props_by_name[p.prop].doc) for p in grammar.positionals]
    flags = [(f"--{f.option}", f.doc) for f in grammar.flags]
    width = max((len(name) for name, _ in arguments + flags), default=0)
    if arguments:
        lines += ["", "arguments:", *(f"  {name:<{width}}  {doc}" for name, doc in arguments)]
    if flags:
        lines += ["", "options:", *(f"  {name:<{width}}  {doc}" for name, doc in flags)]
    if spec.reply:
        lines += ["", f"reply: {spec.reply}"]
    return "\n".join(lines)


def general_help() -> str:
    width = max(len(name) for name in GRAMMAR)
    lines = [
        f"usage: {PROG} [--endpoint E] [--timeout T] [--json] [--prettify] [--table] [--help] [--version]",
        "                 [--curve-server-key K] [--curve-client-key F] command [args]",
        "",
        "Controls a circusd daemon. Without a command, starts an interactive shell.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {g.spec.summary}" for name, g in GRAMMAR.items()),
        *(f"  {name:<{width}}  {summary}" for name, summary in LOCAL_COMMANDS.items()),
        "",
        "options:",
        f"  --endpoint E          control endpoint (default: ${ENDPOINT_ENV}, else circusd's default socket)",
        f"  --timeout T           seconds to wait for a reply (default {DEFAULT_TIMEOUT_S:g}; "
        f"{WAITING_TIMEOUT_S:g} with --waiting)",
        "  --json                print replies as JSON",
        "  --prettify            print replies as indented JSON",
        "  --table               print aligned tables for people instead of Circus's text for scripts",
        f"  --curve-server-key K  circusd's CURVE public key, Z85 or a file (${CURVE_SERVER_KEY_ENV})",
        f"  --curve-client-key F  this client's CURVE secret key file (${CURVE_CLIENT_KEY_ENV})",
        "  --version             print the version",
        "",
        "Commands that take --waiting reply 'ok' at once without it, and the work goes on in circusd;",
        "stderr says so. With --waiting the reply comes when the work is done, an error if it failed.",
        "",
        f"exit codes: {EXIT_OK} ok, {EXIT_ERROR_REPLY} error reply, {EXIT_USAGE} usage error, "
        f"{EXIT_UNREACHABLE} daemon unreachable, {EXIT_CLOSED_PIPE} stdout closed by its reader",
        f"'{PROG} help COMMAND' describes a command.",
    ]
    return "\n".join(lines)


def usage_failure(err: TextIO, message: str, grammar: Grammar | None = None) -> int:
    """Say what is wrong with the command line and how it should read; nothing was sent."""
    print(f"{PROG}: {message}", file=err)
    hint = f"usage: {grammar.usage}" if grammar else f"run '{PROG} help' for the commands and options"
    print(hint, file=err)
    return EXIT_USAGE


def print_help(out: TextIO, err: TextIO, topic: str | None) -> int:
    if topic is None:
        print(general_help(), file=out)
        return EXIT_OK
    grammar = GRAMMAR.get(topic.lower())
    if grammar is None:
        if topic in LOCAL_COMMANDS:
            print(f"{PROG} {topic}: {LOCAL_COMMANDS[topic]}", file=out)
            return EXIT_OK
        return usage_failure(err, f"no help for unknown command {topic!r}")
    print(command_help(grammar), file=out)
    return EXIT_OK


def print_completion(out: TextIO, err: TextIO, args: Sequence[str]) -> int:
    if list(args) != ["bash"]:
        return usage_failure(err, "usage: circusctl completion bash  (only bash is supported)")
    print(bash_completion_script(), file=out)
    return EXIT_OK


def _value_options() -> str:
    """The options that take a value, so the completion script can skip their argument."""
    names = ["--timeout", "--curve-server-key", "--curve-client-key"]
    for grammar in GRAMMAR.values():
        for flag in grammar.flags:
            if flag.takes_value and f"--{flag.option}" not in names:
                names += [f"--{flag.option}", *(f"--{a}" for a in flag.aliases)]
    return "|".join(names)


def bash_completion_script() -> str:
    """A bash completion script: commands, each command's flags, and watcher names (asked from the
    daemon with `circusctl --table list`, one per line, using the --endpoint given on the line)."""
    commands = " ".join([*GRAMMAR, *LOCAL_COMMANDS])
    global_flags = " ".join(
        [
            *("--endpoint", "--timeout", "--json", "--prettify", "--table", "--help", "--version"),
            *("--curve-server-key", "--curve-client-key"),
        ]
    )
    cases = []
    for name, grammar in GRAMMAR.items():
        flags = " ".join(f"--{f.option}" for f in grammar.flags)
        cases.append(f"        {name}) flags='{flags}' ;;")
    value_options = _value_options()
    name_commands = "|".join(
        name
        for name, g in GRAMMAR.items()
        if g.positionals and g.positionals[0].prop == "name" and name != "add"
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
            "                local names",
            '                names="$(circusctl "${endpoint[@]}" --timeout 1 --table list 2>/dev/null)"',
            '                COMPREPLY=($(compgen -W "$names" -- "$cur")) ;;',
            "        esac",
            "    fi",
            "}",
            "complete -F _circusctl circusctl",
        ]
    )
