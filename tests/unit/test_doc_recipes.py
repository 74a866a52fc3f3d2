"""Every fenced block of README.md and docs/*.md is a recipe some test runs, or a figure: none is left
for a reader to find broken (circus_web_stack/testing/recipes.py has the convention)."""

from __future__ import annotations

import re
from pathlib import Path

from circus_web_stack.testing.recipes import REPO, all_recipes, doc_files, read_blocks

FETCHED = re.compile(r"""recipe\(\s*["'](?P<name>[\w.-]+)["']""")  # recipe(...) or run_recipe(...)


def test_every_block_is_a_recipe_or_a_figure():
    unmarked = [b.recipe.where for path in doc_files() for b in read_blocks(path) if b.marker is None]
    assert unmarked == [], "fenced blocks without <!-- recipe: NAME --> or <!-- figure -->: " + ", ".join(
        unmarked
    )


def test_figures_are_pictures_not_commands():
    figures = [b.recipe for path in doc_files() for b in read_blocks(path) if b.marker and b.marker["figure"]]
    tagged = [f.where for f in figures if f.lang]
    assert tagged == [], f"a figure with a language tag is a recipe: {tagged}"


def test_every_recipe_is_fetched_by_a_test():
    sources = "\n".join(p.read_text() for p in (REPO / "tests").rglob("*.py") if p != Path(__file__))
    fetched = set(FETCHED.findall(sources))
    orphans = sorted(set(all_recipes()) - fetched)
    assert orphans == [], f"recipes no test runs: {orphans}"
    unknown = sorted(fetched - set(all_recipes()))
    assert unknown == [], f"tests fetch recipes the docs no longer have: {unknown}"
