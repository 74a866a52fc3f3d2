"""open_stream(): a Stream from a watcher's `stdout_stream.class` and the other `stdout_stream.*` options.

The rule it keeps: a stream that cannot work is refused when the configuration is read, with a
ConfigError naming the option and what would be valid, never discovered when the first line arrives.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from circus_web_stack.core.errors import ConfigError
from circus_web_stack.runtime.streams.base import Stream
from circus_web_stack.runtime.streams.callable_stream import CallableStream
from circus_web_stack.runtime.streams.console import FancyStdoutStream, StdoutStream
from circus_web_stack.runtime.streams.files import FileStream, TimedRotatingFileStream, WatchedFileStream
from circus_web_stack.runtime.streams.queue_stream import QueueStream

logger = logging.getLogger("circus_web_stack.runtime.streams")

STREAM_CLASSES: dict[str, type[Stream]] = {
    cls.__name__: cls
    for cls in (
        StdoutStream,
        FancyStdoutStream,
        FileStream,
        WatchedFileStream,
        TimedRotatingFileStream,
        QueueStream,
    )
}
# Circus's own module paths for the same classes, so configs naming them keep working.
_CIRCUS_MODULES = ("circus.stream.", "circus.stream.file_stream.")
# Options Circus documents but never used (its classes swallowed **kwargs); accepted and ignored.
_IGNORED_OPTIONS = frozenset({"refresh_time"})

Fail = Callable[..., ConfigError]  # (message, option="class") -> the error to raise


def open_stream(class_name: str, options: Mapping[str, Any], *, option_prefix: str = "") -> Stream:
    """Builds the stream named by `class_name`: a short name (FileStream, ...), a `circus.stream.X` path,
    or a dotted path to a callable or a class (instantiated with `options` as given, then called per chunk).

    `options` are the remaining stream options, ini strings or typed values. `option_prefix` (e.g.
    "stdout_stream") is put before option names in errors. Raises ConfigError.
    """

    def fail(message: str, option: str = "class") -> ConfigError:
        return ConfigError(message, option=f"{option_prefix}.{option}" if option_prefix else option)

    name = class_name.strip()
    builtin = STREAM_CLASSES.get(_without_circus_module(name))
    if builtin is None and "." not in name:
        close = difflib.get_close_matches(name, STREAM_CLASSES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise fail(
            f"unknown stream class {name!r}; {hint}use one of {', '.join(STREAM_CLASSES)} or a dotted path"
        )
    if builtin is None:
        target = _resolve(name, fail)
        if isinstance(target, type) and issubclass(target, Stream):
            builtin = target
        else:
            return _callable_stream(name, target, options, fail)
    return _builtin_stream(builtin, options, fail)


def _builtin_stream(cls: type[Stream], options: Mapping[str, Any], fail: Fail) -> Stream:
    kwargs: dict[str, Any] = {}
    for option, raw in options.items():
        if option in _IGNORED_OPTIONS:
            logger.info("stream option %s is ignored (it had no effect in Circus either)", option)
            continue
        convert = cls.OPTIONS.get(option)
        if convert is None:
            valid = ", ".join(cls.OPTIONS) or "none"
            close = difflib.get_close_matches(option, cls.OPTIONS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise fail(f"{cls.__name__} has no option {option!r}; {hint}valid options: {valid}", option)
        try:
            kwargs[option] = convert(raw)
        except ValueError as exc:
            raise fail(f"{cls.__name__}: {exc}", option) from None
    missing = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in kwargs
    ]
    if missing:
        raise fail(f"{cls.__name__} needs this option", missing[0])
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise fail(f"{cls.__name__}: {exc.message}", exc.option or "class") from None


def _callable_stream(path: str, target: Any, options: Mapping[str, Any], fail: Fail) -> Stream:
    if isinstance(target, type):
        try:
            target = target(**options)
        except Exception as exc:
            raise fail(f"{path}({', '.join(options)}) failed: {type(exc).__name__}: {exc}") from None
        if not callable(target):
            raise fail(f"{path} instances are not callable; a stream class needs __call__(self, data)")
    elif not callable(target):
        raise fail(f"{path} is a {type(target).__name__}, not a callable or a class")
    elif options:
        raise fail(f"{path} is a function, which takes no options; got {', '.join(options)}")
    return CallableStream(target, label=path)


def _without_circus_module(name: str) -> str:
    for module in _CIRCUS_MODULES:
        if name.startswith(module) and "." not in name[len(module) :]:
            return name[len(module) :]
    return name


def _resolve(path: str, fail: Fail) -> Any:
    """Imports the longest importable module prefix of `path`, then walks the attributes."""
    parts = path.split(".")
    if not all(p.isidentifier() for p in parts):
        raise fail(f"{path!r} is not a dotted path (module.attribute)")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            target: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and f"{module_name}.".startswith(f"{exc.name}."):
                continue  # this prefix is not a module; try a shorter one
            raise fail(f"cannot import {path!r}: {exc}") from None
        except Exception as exc:
            raise fail(
                f"cannot import {path!r}: importing {module_name} raised {type(exc).__name__}: {exc}"
            ) from None
        for index, attribute in enumerate(parts[split:], start=split):
            try:
                target = getattr(target, attribute)
            except AttributeError:
                owner = ".".join(parts[:index])
                raise fail(f"cannot import {path!r}: {owner} has no attribute {attribute!r}") from None
        return target
    raise fail(f"cannot import {path!r}: no module named {parts[0]!r}")
