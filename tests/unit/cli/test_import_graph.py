"""The cli modules import each other without a circle (circusctl and its shell used to), counting
imports inside functions too, since a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[3] / "circus_web_stack" / "cli"
PREFIX = "circus_web_stack.cli."


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(CLI.glob("*.py")):
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
                targets.add(node.module.removeprefix(PREFIX))
        graph[path.stem] = targets
    return graph


def test_cli_imports_have_no_circle():
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in path, " -> ".join([*path, module])
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])
