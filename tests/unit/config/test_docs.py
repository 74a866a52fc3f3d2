"""docs/options.md is generated from the option table and must be committed up to date."""

from __future__ import annotations

from pathlib import Path

from circus_web_stack.config.docs import render_options_markdown
from circus_web_stack.config.options import DAEMON_OPTIONS, SOCKET_OPTIONS, WATCHER_FAMILIES, WATCHER_OPTIONS

OPTIONS_MD = Path(__file__).resolve().parents[3] / "docs" / "options.md"


def test_docs_options_md_is_up_to_date():
    assert OPTIONS_MD.read_text() == render_options_markdown(), (
        "docs/options.md is out of date with circus_web_stack/config/options.py; run `make docs`"
    )


def test_every_option_is_documented():
    text = render_options_markdown()
    for table in (DAEMON_OPTIONS, WATCHER_OPTIONS, SOCKET_OPTIONS):
        for name, option in table.items():
            assert f"| `{name}` |" in text and option.doc.split(" ")[0] in text
    for family in WATCHER_FAMILIES:
        assert f"| `{family.placeholder}` |" in text
