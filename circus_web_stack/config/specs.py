"""The small frozen values the option kinds parse into: hooks, streams, immutable maps.

Pure and leaf-level (nothing else in config is imported here), so both the value kinds and the model can
use them. Every value is immutable and hashable, so whole configurations compare and hash by value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# PROTOCOL 5.7: every hook a watcher accepts, in the order a process's life meets them.
HOOK_NAMES: tuple[str, ...] = (
    "before_start",
    "after_start",
    "before_spawn",
    "after_spawn",
    "before_stop",
    "after_stop",
    "before_signal",
    "after_signal",
    "before_reap",
    "after_reap",
    "extended_stats",
)

# Hooks whose failure never aborts anything unless the config says `, false` explicitly.
DEFAULT_IGNORED_HOOKS: frozenset[str] = frozenset(
    {"before_stop", "after_stop", "before_signal", "after_signal", "extended_stats"}
)


class FrozenMap(Mapping[K, V]):
    """An immutable, hashable mapping that compares equal to any mapping with the same items.

    Config objects are frozen dataclasses; a plain dict field would make them unhashable and mutable
    through the back door.
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, items: Mapping[K, V] | None = None, /) -> None:
        self._data: dict[K, V] = dict(items or {})
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def freeze(items: Mapping[K, V] | None) -> FrozenMap[K, V]:
    return items if isinstance(items, FrozenMap) else FrozenMap(items)


def freeze_fields(obj: object, *names: str) -> None:
    """In a frozen dataclass's __post_init__: make the named mapping fields FrozenMaps."""
    for name in names:
        object.__setattr__(obj, name, freeze(getattr(obj, name)))


@dataclass(frozen=True)
class HookSpec:
    """`hooks.<name> = dotted.callable[, ignore_failure]`: resolved by import in the runtime, not here."""

    name: str
    dotted: str
    ignore_failure: bool


@dataclass(frozen=True)
class StreamSpec:
    """Where a watcher's stdout or stderr goes: a short stream class name (FileStream, ...) or a dotted
    path to a callable, with its keyword arguments already converted to their Python types."""

    class_name: str
    options: Mapping[str, Any] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", freeze(self.options))
