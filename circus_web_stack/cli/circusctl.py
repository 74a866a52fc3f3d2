"""circusctl: send one command to circusd and print the reply, follow its events (`listen`), or run
an interactive shell when no command is given. Usage, flags and text output are Circus 0.19's;
`--table` prints our aligned tables instead.

Rule: this module only reads the global options and dispatches: one command to cli/session.py,
no command to cli/shell.py, help and completion to cli/help.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import import_module

from circus_web_stack.cli.argv import PROG, global_parser
from circus_web_stack.cli.command_line import Options
from circus_web_stack.cli.common import exit_quietly_on_closed_stdout
from circus_web_stack.cli.exit_codes import EXIT_OK
from circus_web_stack.cli.grammar import GRAMMAR, UsageError
from circus_web_stack.cli.help import print_completion, print_help, usage_failure
from circus_web_stack.cli.session import Session, run_command
from circus_web_stack.client.daemon import CURVE_CLIENT_KEY_ENV, CURVE_SERVER_KEY_ENV, default_endpoint


@exit_quietly_on_closed_stdout
def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    try:
        parsed = global_parser().parse_args(args)
    except UsageError as exc:
        return usage_failure(err, str(exc))
    if parsed.version:
        print(f"{PROG} {version()}", file=out)
        return EXIT_OK
    options = Options(
        endpoint=parsed.endpoint or default_endpoint(),
        timeout=parsed.timeout,
        json=parsed.json,
        prettify=parsed.prettify,
        table=parsed.table,
        curve_server_key=parsed.curve_server_key or os.environ.get(CURVE_SERVER_KEY_ENV),
        curve_client_key=parsed.curve_client_key or os.environ.get(CURVE_CLIENT_KEY_ENV),
        fleet=parsed.fleet,
        nodes=parsed.nodes,
        tags=parsed.tags,
        every=parsed.every,
        batch=parsed.batch,
    )
    if parsed.command == "help":
        return print_help(out, err, parsed.args[0] if parsed.args else None)
    if parsed.help:
        return print_help(out, err, parsed.command if parsed.command in GRAMMAR else None)
    if parsed.command == "completion":
        return print_completion(out, err, parsed.args)
    session = Session(options, out, err)
    try:
        if parsed.command is None:
            from circus_web_stack.cli.shell import run_shell  # only the shell needs cmd and readline

            return run_shell(session, sys.stdin, version())
        return run_command(session, parsed.command, parsed.args)
    finally:
        session.close()


def version() -> str:
    return str(getattr(import_module("circus_web_stack"), "__version__", "unknown"))


if __name__ == "__main__":
    sys.exit(main())
