"""`circusctl --fleet FILE [--node NAME | --tag K=V | --all] COMMAND ...`: the command on every chosen
node at once, the results per node, and `reload WATCHER --batch N|N%`, a rolling deploy across them
with its progress on stderr as it happens.

Rule: the command line was checked before anything is sent (cli/session.py's parse_command_line);
this module reads the fleet file, discovers, chooses the nodes, runs the fan-out or the rollout
(client/fleet*.py) and prints. The exit code is non-zero if any node failed.
"""

from __future__ import annotations

import sys
from typing import TextIO

from circus_web_stack.cli.command_line import CommandLine
from circus_web_stack.cli.exit_codes import EXIT_CONFIG, EXIT_ERROR_REPLY, EXIT_OK
from circus_web_stack.cli.fleet_render import fleet_exit_code, problem_lines, render_fleet, render_fleet_json
from circus_web_stack.cli.help import usage_failure
from circus_web_stack.client.daemon import DEFAULT_TIMEOUT_S, WAITING_TIMEOUT_S
from circus_web_stack.client.fleet import FleetClient
from circus_web_stack.client.fleet_discovery import as_nodes, discover
from circus_web_stack.client.fleet_file import Fleet, Selection, SelectionError, read_fleet_file, select_nodes
from circus_web_stack.client.fleet_plan import parse_batch_size
from circus_web_stack.client.fleet_rollout import roll_out
from circus_web_stack.core.errors import ConfigError

PROG = "circusctl"


def load_fleet(path: str, err: TextIO = sys.stderr) -> Fleet:
    """The fleet file, plus the daemons multicast discovery finds when [fleet] says `discover`.
    A discovery that cannot run is said on `err`; the file's nodes are still used."""
    fleet = read_fleet_file(path)
    if fleet.discovery is None:
        return fleet
    try:
        found = discover(fleet.discovery)
    except (OSError, ValueError) as exc:
        print(f"{PROG}: discovery on {fleet.discovery.endpoint} failed: {exc}", file=err)
        return fleet
    return fleet.with_nodes(as_nodes(fleet, found))


def run_fleet_command(out: TextIO, err: TextIO, line: CommandLine) -> int:
    options, spec, properties = line.options, line.grammar.spec, line.properties
    if spec.name == "listen":
        return usage_failure(err, "listen follows one daemon's events: use --endpoint, not --fleet")
    if options.batch and spec.name != "reload":
        return usage_failure(err, f"--batch is for reload, not {spec.name}", line.grammar)
    try:
        fleet = load_fleet(str(options.fleet), err)
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=err)
        return EXIT_CONFIG
    try:
        nodes = select_nodes(
            fleet, Selection(tuple(options.nodes or ()), tuple(options.tags or ()), options.every)
        )
    except SelectionError as exc:
        return usage_failure(err, str(exc))
    waiting = bool(properties.get("waiting")) or bool(options.batch)
    timeout = options.timeout or (WAITING_TIMEOUT_S if waiting else DEFAULT_TIMEOUT_S)
    with FleetClient(fleet, timeout=timeout) as client:
        if options.batch:
            try:
                size = parse_batch_size(options.batch)
            except ValueError as exc:
                return usage_failure(err, str(exc), line.grammar)
            if not properties.get("name"):
                return usage_failure(err, "reload --batch needs the WATCHER to reload", line.grammar)

            def progress(text: str) -> None:
                print(text, file=err, flush=True)

            report = roll_out(
                client, nodes, str(properties["name"]), size, timeout=timeout, on_progress=progress
            )
            return EXIT_OK if report.ok else EXIT_ERROR_REPLY
        results = client.call(spec.name, properties, nodes=nodes)
    if options.json or options.prettify:
        print(render_fleet_json(results, pretty=options.prettify), file=out)
    else:
        print(render_fleet(spec.name, results, table=options.table), file=out)
    for problem in problem_lines(results):
        print(f"{PROG}: {problem}", file=err)
    return fleet_exit_code(results)
