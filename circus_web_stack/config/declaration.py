"""How an option is declared: once, as a field of its section's model dataclass, made with `option()`.

Rule: the field IS the option. Its annotation is the attribute's static type; the `option()` call gives
the kind, default, doc and, for watchers, settable/needs_reload. `declared_options` reads them back, and
options.py derives the tables from it. A field made with `group()` holds a dataclass of further option
fields (WatcherConfig.flapping: FlappingSpec), each an ordinary option named `<field>.<name>`: an option's
name is always its attribute path on the model (`flapping.attempts` is cfg.flapping.attempts). Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache, partial
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

from circus_web_stack.config.kinds import Kind

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
M = TypeVar("M", bound="DataclassInstance")

_OPTION = "circus_web_stack.option"  # field metadata: the partial Option, waiting for its name
_GROUP = "circus_web_stack.option_group"  # field metadata: (the group's dataclass, its doc)


@dataclass(frozen=True)
class Option:
    """One option. For watcher options, `settable` says whether Circus's `add`/`set` commands may set it,
    and `needs_reload` whether a change at runtime needs new processes (a rolling reload) rather than
    only process management."""

    name: str
    kind: Kind
    default: Any
    doc: str
    settable: bool = False
    needs_reload: bool = False
    default_doc: str | None = None  # the docs' default column when the value needs words
    obsolete: str | None = None  # accepted so old configs load; why it has no effect (warned at load)
    stored: bool = True  # False: read by the loader itself (include) or obsolete; not a model attribute
    in_ini: bool = True  # False: only the API/`set` whole-value form; the ini uses the key family

    def default_text(self) -> str:
        if self.default_doc is not None:
            return self.default_doc
        text = self.kind.to_text(self.default)
        return text if text != "" else "(not set)"

    def value_in(self, model: object) -> Any:
        """This stored option's value in a model object (`flapping.attempts`: model.flapping.attempts)."""
        return attrgetter(self.name)(model)


def option(
    kind: Kind,
    default: T,
    doc: str,
    *,
    settable: bool = False,
    needs_reload: bool = False,
    default_doc: str | None = None,
    in_ini: bool = True,
) -> T:
    """A model field that declares its option. `default` must be immutable (None, a scalar, a tuple, a
    FrozenMap): it is shared by every instance."""
    declared = partial(
        Option,
        kind=kind,
        default=default,
        doc=doc,
        settable=settable,
        needs_reload=needs_reload,
        default_doc=default_doc,
        in_ini=in_ini,
    )
    return field(default=default, metadata={_OPTION: declared})


def group(model: Callable[[], T], doc: str) -> T:
    """A model field holding a dataclass whose `option()` fields are options `<field>.<name>`; `doc`
    describes them together (the docs' summary row)."""
    return field(default_factory=model, metadata={_GROUP: (model, doc)})


@dataclass(frozen=True)
class OptionGroup:
    """The options one `group()` field holds, by full name (`flapping.attempts`)."""

    attribute: str
    doc: str
    options: Mapping[str, Option]

    @property
    def prefix(self) -> str:
        return self.attribute + "."

    def members(self) -> tuple[str, ...]:
        """The names inside the group (attempts, window, ...), as [plugin:flapping] spells them."""
        return tuple(name[len(self.prefix) :] for name in self.options)


@cache
def declared_groups(model: type) -> tuple[OptionGroup, ...]:
    groups: list[OptionGroup] = []
    for f in fields(model):
        if _GROUP in f.metadata:
            group_model, doc = f.metadata[_GROUP]
            members = {
                f"{f.name}.{name}": replace(opt, name=f"{f.name}.{name}")
                for name, opt in declared_options(group_model).items()
            }
            groups.append(OptionGroup(f.name, doc, members))
    return tuple(groups)


@cache
def declared_options(model: type) -> Mapping[str, Option]:
    """Every option the fields of a model dataclass declare, in field order, a group's in its place."""
    found: dict[str, Option] = {}
    groups = {g.attribute: g for g in declared_groups(model)}
    for f in fields(model):
        if _OPTION in f.metadata:
            found[f.name] = f.metadata[_OPTION](name=f.name)
        elif f.name in groups:
            found.update(groups[f.name].options)
    return found


def json_option_values(model: DataclassInstance) -> dict[str, Any]:
    """Every option of a model object by name, JSON-serialisable, as `options` and `get` answer."""
    declared = declared_options(type(model))
    return {name: opt.kind.to_json(opt.value_in(model)) for name, opt in declared.items()}


def with_options(model: M, values: Mapping[str, Any]) -> M:
    """A copy of `model` with options set by name (parsed values); `flapping.attempts` sets
    model.flapping.attempts, keeping the group's other values."""
    own: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        attribute, dot, rest = name.partition(".")
        if dot:
            nested.setdefault(attribute, {})[rest] = value
        else:
            own[name] = value
    for attribute, group_values in nested.items():
        own[attribute] = with_options(own.get(attribute, getattr(model, attribute)), group_values)
    return replace(model, **own)
