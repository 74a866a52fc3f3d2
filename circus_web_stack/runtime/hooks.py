"""Watcher hooks (PROTOCOL.md 5.7): dotted callables `hook(watcher, arbiter, hook_name, **kwargs)`.

A hook that raises or returns False has failed; whether that aborts what it guards depends on its
ignore_failure flag. Hooks run in the calling greenlet, as in Circus: a hook that blocks on I/O should
use gevent-friendly calls.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.notices import HookFailedNotice, HookSucceeded, Notice

log = logging.getLogger("circus_web_stack.hooks")


def resolve_dotted(dotted: str) -> Callable[..., Any]:
    """`pkg.mod.func` or `pkg.mod:func` -> the callable; ConfigError naming what failed."""
    module_name, sep, attr = dotted.partition(":")
    if not sep:
        module_name, _, attr = dotted.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"{dotted!r} is not a dotted path to a callable (expected 'package.module.name')")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import module {module_name!r} for {dotted!r}: {exc}") from exc
    try:
        target = getattr(module, attr)
    except AttributeError as exc:
        raise ConfigError(f"module {module_name!r} has no attribute {attr!r}") from exc
    if not callable(target):
        raise ConfigError(f"{dotted!r} is not callable")
    return target


class HookRunner:
    """The hooks of one watcher, resolved once when the watcher is created or its hooks are set."""

    def __init__(self, specs: dict[str, Any]) -> None:  # name -> config.model.HookSpec
        self._specs = dict(specs)
        self._callables = {name: resolve_dotted(spec.dotted) for name, spec in specs.items()}

    def __contains__(self, name: str) -> bool:
        return name in self._callables

    def run(
        self, name: str, watcher: Any, arbiter: Any, publish: Callable[[Notice], None], **kwargs: Any
    ) -> bool:
        """True when the guarded action may go on: the hook succeeded, failed with ignore_failure, or
        does not exist."""
        hook = self._callables.get(name)
        if hook is None:
            return True
        try:
            result = hook(watcher, arbiter, name, **kwargs)
        except Exception as exc:
            log.exception("%s: hook %s (%s) raised", watcher.name, name, self._specs[name].dotted)
            publish(HookFailedNotice(name, f"{type(exc).__name__}: {exc}"))
            return self._specs[name].ignore_failure
        if result is False:
            log.warning("%s: hook %s (%s) returned False", watcher.name, name, self._specs[name].dotted)
            publish(HookFailedNotice(name, "returned False"))
            return self._specs[name].ignore_failure
        publish(HookSucceeded(name))
        return True
