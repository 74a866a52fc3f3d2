"""docs/commands.md is generated from the command table and must not go stale."""

from __future__ import annotations

from pathlib import Path

from circus_web_stack.protocol.commands import COMMAND_TABLE
from circus_web_stack.protocol.docs import render_commands_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "commands.md"


def test_committed_commands_md_is_current():
    assert DOC.read_text(encoding="utf-8") == render_commands_markdown(), (
        "docs/commands.md is stale: run `python -m circus_web_stack.protocol.docs > docs/commands.md`"
    )


def test_every_command_has_a_section():
    text = render_commands_markdown()
    for spec in COMMAND_TABLE:
        assert f"\n## {spec.name}\n" in text
        assert spec.usage in text
