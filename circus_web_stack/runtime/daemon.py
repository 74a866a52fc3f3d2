"""Assembles a full daemon: the arbiter plus the extensions a config asks for (control, events)."""

from __future__ import annotations

from typing import Any

from circus_web_stack.config.model import Config
from circus_web_stack.runtime.arbiter import Arbiter


def build_arbiter(config: Config, **kwargs: Any) -> Arbiter:
    return Arbiter(config, **kwargs)
