"""The recipes of README.md and docs/*.md, read from the Markdown, so that the tests run what the docs
say and the two cannot drift apart.

Convention (docs/design.md, "Docs that run"): every fenced block in those files follows a marker line,
`<!-- recipe: NAME -->` (NAME unique across the docs: a test fetches it with `recipe("NAME")` and runs
or compares it) or `<!-- figure -->` (a picture, nothing to run). tests/unit/test_doc_recipes.py fails
on a block without a marker, a name used twice, and a recipe that no test fetches.

Rule: pure text handling; running a recipe is the test's business, since each needs its own stand-ins
for what a test cannot have (root, systemd as PID 1, a real domain).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- (?:recipe: (?P<name>[\w.-]+)|(?P<figure>figure)) -->$")
FENCE = re.compile(r"^```(?P<lang>\S*)$")


@dataclass(frozen=True)
class Recipe:
    name: str
    lang: str  # the fence's info string: sh, ini, nginx, text, ...
    text: str
    path: Path
    line: int  # of the opening fence

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    def commands(self) -> list[Command]:
        """The shell lines: continuations joined, whole-line comments dropped, `# claim` kept apart."""
        commands: list[Command] = []
        pending = ""
        for raw in self.text.splitlines():
            line = raw.rstrip()
            if pending:
                line = pending + " " + line.strip()
                pending = ""
            if line.endswith("\\"):
                pending = line[:-1].rstrip()
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command, _, claim = line.partition("  #")
            commands.append(Command(command.strip(), claim.strip()))
        return commands


@dataclass(frozen=True)
class Command:
    line: str
    claim: str  # the comment after it: what the doc says it does or prints


@dataclass(frozen=True)
class Block:
    """A fenced block and the marker before it (None: no marker)."""

    marker: re.Match[str] | None
    recipe: Recipe


def doc_files(repo: Path = REPO) -> list[Path]:
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


def read_blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if lines[j] == "```"), None)
        if end is None:
            raise ValueError(f"{path}:{index + 1}: a fenced block that is never closed")
        before = next((lines[j] for j in range(index - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(before)
        name = (marker["name"] if marker else None) or f"<unnamed {path.name}:{index + 1}>"
        text = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(Block(marker, Recipe(name, fence["lang"], text, path, index + 1)))
        index = end + 1
    return blocks


@functools.cache
def all_recipes() -> dict[str, Recipe]:
    """Every named recipe of the docs; a duplicate name raises, naming both places."""
    found: dict[str, Recipe] = {}
    for path in doc_files():
        for block in read_blocks(path):
            if block.marker is None or block.marker["name"] is None:
                continue
            name = block.recipe.name
            if name in found:
                raise ValueError(f"recipe {name!r} at {block.recipe.where} and at {found[name].where}")
            found[name] = block.recipe
    return found


def recipe(name: str) -> Recipe:
    """The docs' recipe called `name` (KeyError naming the known ones if there is none)."""
    recipes = all_recipes()
    if name not in recipes:
        raise KeyError(f"no <!-- recipe: {name} --> in the docs (known: {', '.join(sorted(recipes))})")
    return recipes[name]
