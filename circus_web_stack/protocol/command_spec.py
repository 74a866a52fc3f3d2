"""What one row of the command table is (`CommandSpec`), the builder that makes rows alike
(`command`), and how a request's properties are checked against its row (`check_request`).

Rule: pure, and knows no particular command: protocol/commands.py holds the rows; what a row
declares (properties, their defaults, `waiting` and `match`, a cross-property check) is enforced
here the same way for every command, with ClientError in Circus's errno and message style.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from circus_web_stack.core.errors import ClientError
from circus_web_stack.core.suggest import did_you_mean
from circus_web_stack.protocol.properties import DEFAULT_MATCH, Prop, PropType, check_property


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    doc: str
    props: tuple[Prop, ...] = ()
    takes_waiting: bool = False
    takes_match: bool = False
    reply: str = ""  # reply fields besides status/time/id, for help and docs
    overrides_status: bool = False  # the reply's "status" is the watcher state (Circus's wart, kept)
    client_only: bool = False  # handled by circusctl itself, never sent to the daemon
    in_circus: bool = True  # Circus 0.19 has this command
    additions: str = ""  # what we accept beyond Circus 0.19
    check: Callable[[dict[str, object]], None] | None = field(default=None, compare=False)

    @property
    def props_by_name(self) -> Mapping[str, Prop]:
        return {p.name: p for p in self.props}


_WAITING = Prop("waiting", PropType.BOOL, "reply when the work is done instead of at once", default=False)
_MATCH = Prop("match", PropType.MATCH, "how `name` selects watchers, case-insensitive", default=DEFAULT_MATCH)


def command(
    name: str,
    summary: str,
    doc: str,
    *,
    props: Sequence[Prop] = (),
    waiting: bool = False,
    match: bool = False,
    **rest: object,
) -> CommandSpec:
    """One row; `waiting` and `match` add their property the same way on every command."""
    all_props = list(props)
    if waiting:
        all_props.append(_WAITING)
    if match:
        all_props.append(_MATCH)
    return CommandSpec(
        name=name,
        summary=summary,
        doc=doc,
        props=tuple(all_props),
        takes_waiting=waiting,
        takes_match=match,
        **rest,
    )


def check_request(spec: CommandSpec, properties: Mapping[str, object] | None, *, fill_defaults: bool) -> dict:
    """`properties` checked against `spec` and normalized (see `commands.validate`)."""
    if spec.client_only:
        raise ClientError(
            f"{spec.name} is a circusctl command, not a daemon command: subscribe to the daemon's "
            "pubsub endpoint (globaloptions pubsub_endpoint) instead"
        )
    given = dict(properties or {})
    known = spec.props_by_name
    for key in given:
        if key not in known:
            valid = ", ".join(known) or "none"
            raise ClientError(
                f"message invalid: unknown property {key!r} for {spec.name}{did_you_mean(key, known)}; "
                f"valid properties: {valid}"
            )
    normalized: dict[str, object] = {}
    for prop in spec.props:
        value = given.get(prop.name)
        if value is None:
            if prop.required:
                raise ClientError(f"message invalid {prop.name!r} is missing")
            if fill_defaults and prop.default is not None:
                normalized[prop.name] = prop.default
            continue
        normalized[prop.name] = check_property(spec.name, prop, value)
    if spec.check is not None:
        spec.check(normalized)
    return normalized
