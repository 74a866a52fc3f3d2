"""One circusctl session: the global options, the output streams and the open clients, and how one
command line (`incr web 2 --waiting`) becomes a request, a reply on the screen and an exit code.

Rule: the one-shot command line (cli/circusctl.py) and the interactive shell (cli/shell.py) both
run commands through `run_command` here, and neither imports the other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

import zmq

from circus_web_stack.cli.argv import GLOBAL_OPTIONS, PROG, command_parser, properties_of
from circus_web_stack.cli.circus_text import render_circus_text
from circus_web_stack.cli.command_line import CommandLine, Options
from circus_web_stack.cli.exit_codes import EXIT_ERROR_REPLY, EXIT_OK, EXIT_UNREACHABLE
from circus_web_stack.cli.grammar import GRAMMAR, UsageError
from circus_web_stack.cli.help import command_help, usage_failure
from circus_web_stack.cli.progress import ReloadProgress
from circus_web_stack.cli.render import render_error, render_json, render_reply
from circus_web_stack.client.daemon import (
    DEFAULT_TIMEOUT_S,
    ENDPOINT_ENV,
    WAITING_TIMEOUT_S,
    CallError,
    CallTimeout,
    CircusClient,
    apply_curve,
    iter_messages,
)
from circus_web_stack.core.errors import ClientError
from circus_web_stack.core.suggest import did_you_mean
from circus_web_stack.protocol.commands import validate
from circus_web_stack.protocol.endpoints import endpoint_problem, ipc_path


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
            client = CircusClient(options.endpoint, curve=options.curve_keys)
            self._clients[key] = client
        client.timeout = options.timeout or DEFAULT_TIMEOUT_S
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def parse_command_line(session: Session, command: str, words: Sequence[str]) -> CommandLine | int:
    """The command line checked against the grammar and the command table, or the exit code when
    it asked for help or is wrong (said on stderr)."""
    grammar = GRAMMAR.get(command.lower())
    if grammar is None:
        hint = did_you_mean(command, [*GRAMMAR, "help"])
        known = ", ".join(GRAMMAR)
        return usage_failure(session.err, f"unknown command {command!r}{hint}; commands: {known}")
    spec = grammar.spec
    try:
        parsed = command_parser(grammar).parse_intermixed_args(list(words))
        if parsed.help:
            print(command_help(grammar), file=session.out)
            return EXIT_OK
        given = {name: getattr(parsed, name) for name in GLOBAL_OPTIONS if hasattr(parsed, name)}
        options = replace(session.options, **given)
        properties = properties_of(grammar, parsed)
        if not options.fleet:
            for flag, value in (("--node", options.nodes), ("--tag", options.tags), ("--all", options.every)):
                if value:
                    raise UsageError(f"{flag} chooses nodes of a fleet: it needs --fleet FILE")
            if options.batch:
                raise UsageError("--batch rolls a reload across the nodes of a fleet: it needs --fleet FILE")
        if spec.name != "listen":
            properties = validate(spec.name, properties, fill_defaults=False)
    except UsageError as exc:
        return usage_failure(session.err, str(exc), grammar)
    except ClientError as exc:
        return usage_failure(session.err, f"{spec.name}: {exc.reason}", grammar)
    return CommandLine(grammar, options, properties)


def run_command(session: Session, command: str, words: Sequence[str]) -> int:
    """Run one command line (`incr web 2 --waiting`) and print its outcome; returns the exit code."""
    line = parse_command_line(session, command, words)
    if isinstance(line, int):
        return line
    if line.options.fleet:
        from circus_web_stack.cli.fleet_session import run_fleet_command  # only fleets need it

        return run_fleet_command(session.out, session.err, line)
    spec, options, properties = line.grammar.spec, line.options, line.properties
    if spec.name == "listen":
        return _listen(session, options, properties)
    unreachable = _unreachable_reason(options.endpoint)
    if unreachable:
        print(f"{PROG}: {unreachable}", file=session.err)
        return EXIT_UNREACHABLE
    if options.timeout is None and properties.get("waiting"):
        # The reply comes when the work is done (see WAITING_TIMEOUT_S); a missing ipc socket failed above.
        options = replace(options, timeout=WAITING_TIMEOUT_S)
    try:
        client = session.client(options)
    except (UsageError, ValueError, zmq.ZMQError) as exc:
        return usage_failure(session.err, str(exc), line.grammar)
    try:
        with _progress_for(session, options, spec.name, properties):
            reply = client.call_message(spec.name, properties)
    except CallTimeout as exc:
        print(_timeout_message(exc, options), file=session.err)
        return EXIT_UNREACHABLE
    except (CallError, ValueError) as exc:
        print(f"{PROG}: {exc}", file=session.err)
        return EXIT_UNREACHABLE
    code = _print_reply(session, options, spec.name, reply)
    if code == EXIT_OK and spec.takes_waiting and not properties.get("waiting"):
        # Circus's `ok` is all stdout gets; stderr says that the outcome is not known yet.
        print(background_notice(spec.name, properties.get("name")), file=session.err)
    return code


def background_notice(command: str, name: object) -> str:
    """What circusctl says on stderr when the daemon replied `ok` before doing the work."""
    what = f"{command} of {name}" if name else command
    return f"{what} started; use --waiting to wait for its outcome"


def _print_reply(session: Session, options: Options, command: str, reply: dict) -> int:
    failed = reply.get("status") == "error"
    if options.json or options.prettify:
        print(render_json(reply, pretty=options.prettify), file=session.out)
    elif failed:
        print(render_error(reply), file=session.err)
    else:
        if options.table:
            text = render_reply(command, reply)
            if text:
                print(text, file=session.out)
        else:
            print(render_circus_text(command, reply), file=session.out)  # an empty line too, as Circus
    return EXIT_ERROR_REPLY if failed else EXIT_OK


def _progress_for(session: Session, options: Options, command: str, properties: dict[str, object]) -> Any:
    """A live progress line for `reload NAME --waiting` when stderr is a terminal; else nothing."""
    name = properties.get("name")
    if command != "reload" or not properties.get("waiting") or not name or not session.err.isatty():
        return contextlib.nullcontext()
    try:
        pubsub = session.client(options).call_ok("globaloptions")["options"]["pubsub_endpoint"]
        curve = options.curve_keys
    except (CallError, KeyError, UsageError, ValueError):
        return contextlib.nullcontext()  # no progress, but the reload itself goes ahead
    return ReloadProgress(
        pubsub, str(name), session.err, curve_apply=(lambda sock: apply_curve(sock, curve)) if curve else None
    )


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


def _listen(session: Session, options: Options, properties: dict[str, object]) -> int:
    """`listen`: print the daemon's events, one per line, until Ctrl-C."""
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
        curve = options.curve_keys
    except (UsageError, ValueError) as exc:
        return usage_failure(session.err, str(exc))
    try:
        for frames in iter_messages(str(pubsub), topics, curve=curve):
            topic = frames[0].decode("utf-8", "replace")
            payload = b" ".join(frames[1:]).decode("utf-8", "replace")
            print(f"{topic}: {payload}", file=session.out, flush=True)
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK
