"""circus-web-stack: a process and socket manager for Python web stacks, compatible with Circus.

Public API: get_arbiter, Arbiter, Watcher, Process, __version__. They are imported on first use, so
that `circusctl` does not pay for gevent and psutil at start.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Arbiter", "Process", "Watcher", "__version__", "get_arbiter"]


def __getattr__(name: str) -> Any:
    if name == "Arbiter":
        from circus_web_stack.runtime.arbiter import Arbiter

        return Arbiter
    if name == "Watcher":
        from circus_web_stack.runtime.watcher import Watcher

        return Watcher
    if name == "Process":
        from circus_web_stack.runtime.process import Process

        return Process
    if name == "get_arbiter":
        from circus_web_stack.api import get_arbiter

        return get_arbiter
    raise AttributeError(f"module 'circus_web_stack' has no attribute {name!r}")
