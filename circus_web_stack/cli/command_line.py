"""A circusctl command line as data: the global options (Options) and one command parsed and checked
(CommandLine), shared by the one-daemon session (cli/session.py) and fleets (cli/fleet_session.py).

Rule: plain data; nothing here parses, sends or prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from circus_web_stack.cli.grammar import Grammar
from circus_web_stack.client.daemon import CurveKeys, curve_keys_from_options


@dataclass
class Options:
    """Global options; a command line in the shell may override json, prettify, table and timeout."""

    endpoint: str
    timeout: float | None = None  # None: DEFAULT_TIMEOUT_S, or WAITING_TIMEOUT_S with --waiting
    json: bool = False
    prettify: bool = False
    table: bool = False  # our aligned tables instead of Circus's text
    curve_server_key: str | None = None
    curve_client_key: str | None = None
    fleet: str | None = None  # a fleet file: the command goes to its chosen nodes (cli/fleet_session.py)
    nodes: list[str] | None = None  # --node NAME (repeatable, NAME,NAME, globs)
    tags: list[str] | None = None  # --tag KEY=VALUE (repeatable; all must match)
    every: bool = False  # --all
    batch: str | None = None  # reload --batch N or N%: a rolling deploy across the nodes

    @property
    def curve_keys(self) -> CurveKeys | None:
        return curve_keys_from_options(self.curve_server_key, self.curve_client_key)


@dataclass(frozen=True)
class CommandLine:
    """One command line, parsed and checked: nothing has been sent yet."""

    grammar: Grammar
    options: Options
    properties: dict[str, object]
