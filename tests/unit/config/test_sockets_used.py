"""WatcherConfig.sockets_used: the sockets a watcher serves (core/socket_idle.py's and on_demand's input)."""

from __future__ import annotations

from circus_web_stack.config.loader import parse_watcher


def test_a_watcher_uses_the_sockets_it_references_else_all_it_inherits():
    bound = ["web", "api"]
    names = parse_watcher("w", {"cmd": "app --fd $(circus.sockets.web)", "use_sockets": "true"}).sockets_used
    assert names(bound) == {"web"}
    assert parse_watcher("w", {"cmd": "app", "use_sockets": "true"}).sockets_used(bound) == {"web", "api"}
    assert parse_watcher("w", {"cmd": "app", "on_demand": "true"}).sockets_used(bound) == {"web", "api"}
    assert parse_watcher("w", {"cmd": "app"}).sockets_used(bound) == set()
