"""The layering of DESIGN.md, enforced: core <- config, protocol <- runtime, client <- cli, web, plugins;
core is pure; chaussette_compat stands alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "circus_web_stack"

# What each layer may import from the project (besides itself).
ALLOWED = {
    "core": set(),
    "config": {"core"},
    "protocol": {"core"},
    "runtime": {"core", "config", "protocol"},
    # talking to daemons: the one daemon client (and, beside it, fleets, whose node file is read with
    # config's ini reader and endpoint kinds)
    "client": {"core", "config", "protocol"},
    # cli/circushttpd.py is the console's entry point
    "cli": {"core", "config", "protocol", "runtime", "client", "web", "plugins"},
    "web": {"core", "config", "protocol", "client"},
    # Circus's plugin API and the shipped plugins: each runs in a process of its own, talking to the
    # daemon as a client does
    "plugins": {"core", "config", "protocol", "client"},
}
# Third-party and stdlib modules that would make core impure (I/O, processes, clocks).
IMPURE_MODULES = {"gevent", "zmq", "psutil", "socket", "subprocess", "threading", "select", "selectors"}
IMPURE_CALLS = {
    ("os", "fork"),
    ("os", "kill"),
    ("os", "killpg"),
    ("os", "waitpid"),
    ("signal", "signal"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "sleep"),
}


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer):
    wrong = []
    for path in modules(layer):
        for name in imported(ast.parse(path.read_text())):
            parts = name.split(".")
            inside = parts[0] == "circus_web_stack" and len(parts) > 1 and parts[1] in ALLOWED
            if inside and parts[1] != layer and parts[1] not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_core_is_pure():
    wrong = []
    for path in modules("core"):
        tree = ast.parse(path.read_text())
        for name in imported(tree):
            if name.split(".")[0] in IMPURE_MODULES:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
        for node in ast.walk(tree):
            named = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            if named and (node.value.id, node.attr) in IMPURE_CALLS:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert wrong == []


def test_chaussette_compat_stands_alone():
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "chaussette_compat").rglob("*.py"))
        for name in imported(ast.parse(path.read_text()))
        if name.startswith("circus_web_stack")
    ]
    assert wrong == []
