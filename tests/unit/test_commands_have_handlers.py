"""The wire table (protocol/commands.py) and the daemon's handlers (runtime/handlers.py) name the
same commands: a row without a handler, or a handler without a row, fails here."""

from __future__ import annotations

import pytest

from circus_web_stack.protocol.commands import COMMAND_TABLE
from circus_web_stack.runtime import handlers


def test_every_daemon_command_has_one_handler_and_every_handler_a_command():
    daemon_commands = {spec.name for spec in COMMAND_TABLE if not spec.client_only}
    assert set(handlers.HANDLERS) == daemon_commands
    assert set(handlers.CHECKS) <= daemon_commands
    assert daemon_commands >= handlers.REPLY_FIRST


def test_a_second_handler_for_one_command_is_refused():
    with pytest.raises(ValueError, match="status already has status; impostor is a second one"):

        @handlers.handles("status")
        def impostor(arbiter: object, props: dict) -> dict:
            return {}

    assert handlers.HANDLERS["status"] is handlers.status
