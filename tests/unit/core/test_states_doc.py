"""docs/states.md is generated from the watcher's TRANSITIONS table and must be committed up to date."""

from __future__ import annotations

from pathlib import Path

from circus_web_stack.cli.states_docs import render_states_markdown
from circus_web_stack.core.states import WatcherPhase
from circus_web_stack.core.watcher_fsm import TRANSITIONS
from circus_web_stack.testing.recipes import recipe

STATES_MD = Path(__file__).resolve().parents[3] / "docs" / "states.md"


def test_docs_states_md_is_up_to_date():
    assert STATES_MD.read_text() == render_states_markdown(), (
        "docs/states.md is out of date with core/watcher_fsm.py's TRANSITIONS; run `make docs`"
    )


def test_the_diagram_has_every_phase():
    diagram = recipe("states-diagram").text
    for phase in WatcherPhase:
        assert phase.name.lower() in diagram


def test_every_phase_and_event_is_in_the_doc():
    text = render_states_markdown()
    for phase in WatcherPhase:
        assert f"| {phase.value} |" in text
    for event in TRANSITIONS:
        assert f"| `{event.__name__}` |" in text
