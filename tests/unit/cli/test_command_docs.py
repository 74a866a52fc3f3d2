"""docs/commands.md is generated from the command table and circusctl's grammar and must not go stale."""

from __future__ import annotations

from pathlib import Path

from circus_web_stack.cli.command_docs import render_commands_markdown
from circus_web_stack.cli.grammar import GRAMMAR

DOC = Path(__file__).resolve().parents[3] / "docs" / "commands.md"


def test_committed_commands_md_is_current():
    assert DOC.read_text(encoding="utf-8") == render_commands_markdown(), (
        "docs/commands.md is stale: run `python -m circus_web_stack.cli.command_docs > docs/commands.md`"
    )


def test_every_command_has_a_section():
    text = render_commands_markdown()
    for name, grammar in GRAMMAR.items():
        assert f"\n## {name}\n" in text
        assert grammar.usage in text
