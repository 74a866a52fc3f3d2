"""Resolve APP ('pkg.mod:attr', 'pkg.mod.attr', 'paste:file.ini#name') and hooks to Python objects.

Rule: every failure becomes an `AppLoadError` whose `summary` is one line naming the spec, the module,
the attribute and sys.path; the original exception stays chained for the traceback.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from .hello import hello_app

_CHAUSSETTE_HELLO = "chaussette.util.hello_app"


class AppLoadError(Exception):
    """The application or a hook could not be loaded; `summary` is the one line to print last."""

    def __init__(self, what: str, spec: str, module: str, attribute: str | None, reason: str) -> None:
        self.what = what
        self.spec = spec
        self.module = module
        self.attribute = attribute
        self.reason = reason
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        attribute = repr(self.attribute) if self.attribute else "(none: the module itself)"
        return (
            f"cannot load {self.what} {self.spec!r}: {self.reason} "
            f"(module {self.module!r}, attribute {attribute}, sys.path={sys.path!r})"
        )


def split_spec(spec: str) -> tuple[str, str | None]:
    """Split APP into module and attribute path.

    'pkg.mod:obj.attr' -> ('pkg.mod', 'obj.attr'); 'pkg.mod.attr' -> ('pkg.mod', 'attr');
    'mod' -> ('mod', None).
    """
    if ":" in spec:
        module, _, attribute = spec.partition(":")
        return module, attribute or None
    if "." in spec:
        module, _, attribute = spec.rpartition(".")
        return module, attribute
    return spec, None


def _suggestion(obj: object, name: str) -> str:
    candidates = [n for n in dir(obj) if not n.startswith("_")]
    close = difflib.get_close_matches(name, candidates, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    callables = [n for n in candidates if callable(getattr(obj, n, None)) and n in ("application", "app")]
    return f" (it has {', '.join(map(repr, callables))})" if callables else ""


def import_object(spec: str, what: str = "the application") -> Any:
    """Import the object a spec names (Chaussette's rules, plus 'mod:obj.attr' nesting)."""
    module_name, attribute = split_spec(spec)
    if not module_name:
        raise AppLoadError(what, spec, module_name, attribute, "expected 'package.module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        reason = f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}"
        raise AppLoadError(what, spec, module_name, attribute, reason) from exc
    if attribute is None:
        return obj
    owner = module_name
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            # Chaussette also accepts 'pkg.mod.sub' naming a submodule not imported by its package
            if ":" not in spec and isinstance(obj, type(sys)):
                try:
                    return importlib.import_module(f"{module_name}.{part}")
                except ImportError:
                    pass
            reason = f"{owner!r} has no attribute {part!r}{_suggestion(obj, part)}"
            raise AppLoadError(what, spec, module_name, attribute, reason) from exc
        owner = f"{owner}.{part}"
    return obj


def _load_paste(spec: str) -> Any:
    location = spec[len("paste:") :]
    path, _, name = location.partition("#")
    try:
        from paste.deploy import loadapp
    except ImportError as exc:
        reason = "PasteDeploy is not installed (pip install PasteDeploy)"
        raise AppLoadError("the application", spec, "paste.deploy", "loadapp", reason) from exc
    try:
        return loadapp("config:" + os.path.abspath(path), name=name or None)
    except Exception as exc:
        reason = f"PasteDeploy could not load {path!r}: {type(exc).__name__}: {exc}"
        raise AppLoadError("the application", spec, "paste.deploy", "loadapp", reason) from exc


def load_app(spec: str) -> Callable[..., Any]:
    """The WSGI callable named by APP."""
    if spec.startswith("paste:"):
        app = _load_paste(spec)
    elif spec == _CHAUSSETTE_HELLO and importlib.util.find_spec("chaussette") is None:
        app = hello_app
    else:
        app = import_object(spec)
    if not callable(app):
        module, attribute = split_spec(spec)
        reason = (
            f"it is {type(app).__name__!r}, not a WSGI callable "
            f"(for a module, name its callable: {spec}:application)"
        )
        raise AppLoadError("the application", spec, module, attribute, reason)
    return app


def load_hook(spec: str, option: str) -> Callable[..., Any]:
    """A --pre-hook/--post-hook callable (called with the parsed command line)."""
    hook = import_object(spec, what=f"{option}")
    if not callable(hook):
        module, attribute = split_spec(spec)
        raise AppLoadError(option, spec, module, attribute, f"it is {type(hook).__name__!r}, not callable")
    return hook
