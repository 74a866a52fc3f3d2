"""circus-top over a fleet, in a real terminal (tmux): every node's stats stream with a NODE column,
the node filter (key n), and a node that goes away and comes back."""

from __future__ import annotations

import shutil
import sys

import pytest

from circus_web_stack.testing.waiting import wait_until
from tests.component.stats.test_top_terminal import Terminal

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def rows_of(screen: str, node: str) -> list[str]:
    return [line for line in screen.splitlines() if line.strip().startswith(node + " ") and "web (" in line]


def test_top_shows_every_node_filters_and_follows_a_node_away_and_back(stats_fleet, tmp_path):
    fleet_file = stats_fleet.workdir / "fleet.ini"
    term = Terminal(
        tmp_path, [sys.executable, "-m", "circus_web_stack.cli.top", "--fleet", str(fleet_file)], 140, 40
    )
    try:
        screen = term.wait_screen("NODE", 20)
        screen = term.wait_screen("node2", 20)
        screen = wait_until(
            lambda: (lambda s: s if rows_of(s, "node1") and rows_of(s, "node2") else None)(term.screen()),
            20,
            "a web row for each node",
        )
        assert "fleet (2 nodes) " in screen
        term.keys("n")
        screen = wait_until(
            lambda: (lambda s: s if not rows_of(s, "node2") else None)(term.screen()), 10, "only node1"
        )
        assert rows_of(screen, "node1")
        term.keys("a")
        wait_until(lambda: rows_of(term.screen(), "node2"), 10, "every node again")
        node2 = stats_fleet.nodes[1].daemon
        assert node2.close() == []
        screen = term.wait_screen("node2: no statistics", 20)
        wait_until(
            lambda: all("web (0)" in row for row in rows_of(term.screen(), "node2")),
            20,
            "node2's processes dropped",
        )
        node2.start()
        wait_until(
            lambda: any("web (1)" in row for row in rows_of(term.screen(), "node2")),
            30,
            "node2 back on the screen",
        )
        assert "node2: no statistics" not in term.screen()
        term.keys("q")
        assert term.wait_exit() == 0
    finally:
        term.close()
