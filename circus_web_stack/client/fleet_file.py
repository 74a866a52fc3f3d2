"""The fleet file: one `[node:NAME]` section per daemon (its endpoints, CurveZMQ keys, health check
URL and tags), a `[fleet]` section of defaults and multicast discovery; and choosing nodes by name,
glob or tag, as `--node`, `--tag` and `--all` do.

Rules: pure (text in, Fleet out; read_fleet_file is the one read). Every mistake is a ConfigError
naming the file, line, section and key, with a did-you-mean; a key that is no node option is a tag
(`env = prod`), unless it is close to an option's name (`endpont`), which is refused as a likely typo
(write `tag.endpont` to mean a tag). Key file paths are relative to the fleet file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase

from circus_web_stack.config.endpoints import Endpoint, MulticastEndpoint
from circus_web_stack.config.ini import IniSection, parse_ini
from circus_web_stack.config.kinds import InvalidValue, Seconds
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.suggest import did_you_mean

TAG_PREFIX = "tag."
# What a node section may say (a [fleet] section gives defaults for all but endpoint).
NODE_KEYS = (
    "endpoint",
    "pubsub_endpoint",
    "stats_endpoint",
    "curve_server_key",
    "curve_client_key",
    "health_url",
    "health_timeout",
)
DISCOVERY_KEYS = ("discover", "discover_interface", "discover_timeout")
DEFAULT_HEALTH_TIMEOUT_S = 30.0
DEFAULT_DISCOVER_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Node:
    """One daemon of the fleet. Endpoints left None are asked of the daemon (`globaloptions`)."""

    name: str
    endpoint: str
    pubsub_endpoint: str | None = None
    stats_endpoint: str | None = None
    curve_server_key: str | None = None
    curve_client_key: str | None = None
    health_url: str | None = None
    health_timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S
    tags: tuple[tuple[str, str], ...] = ()

    def tag(self, key: str) -> str | None:
        return dict(self.tags).get(key)


@dataclass(frozen=True)
class Discovery:
    """Multicast discovery (Circus's responder): where to ask, on which interface, how long to wait."""

    endpoint: str
    interface: str | None = None
    timeout_s: float = DEFAULT_DISCOVER_TIMEOUT_S


@dataclass(frozen=True)
class Fleet:
    nodes: tuple[Node, ...]
    defaults: Node | None = None  # [fleet]'s node options, for discovered nodes
    discovery: Discovery | None = None
    path: str | None = None

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def with_nodes(self, extra: Iterable[Node]) -> Fleet:
        return replace(self, nodes=self.nodes + tuple(extra))


@dataclass(frozen=True)
class Selection:
    """What --node, --tag and --all asked for: node names or globs, `key=value` tags (all must match,
    the value may be a glob), or every node."""

    names: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    every: bool = False

    @property
    def empty(self) -> bool:
        return not (self.names or self.tags or self.every)


@dataclass
class _Builder:
    path: str
    base_dir: str
    warnings: list[str] = field(default_factory=list)

    def error(self, section: IniSection, message: str, key: str | None = None) -> ConfigError:
        entry = section.entries.get(key) if key else None
        return ConfigError(
            message,
            path=self.path,
            line=entry.line if entry else section.line,
            section=section.name,
            option=key,
        )

    def key_file(self, value: str) -> str:
        """A key file relative to the fleet file; a Z85 key (40 characters, no such file) as it is."""
        candidate = os.path.join(self.base_dir, os.path.expanduser(value))
        return candidate if os.path.exists(candidate) else value

    def node_options(self, section: IniSection, *, defaults: dict[str, object]) -> tuple[dict, list]:
        options: dict[str, object] = dict(defaults)
        tags: list[tuple[str, str]] = []
        for key, entry in section.entries.items():
            value = entry.value.strip()
            if key.startswith(TAG_PREFIX) and len(key) > len(TAG_PREFIX):
                tags.append((key[len(TAG_PREFIX) :], value))
                continue
            if key not in NODE_KEYS:
                hint = did_you_mean(key, NODE_KEYS + DISCOVERY_KEYS)
                if hint:
                    raise self.error(
                        section, f"unknown option{hint}; to mean a tag, write {TAG_PREFIX}{key}", key
                    )
                tags.append((key, value))
                continue
            options[key] = self.node_value(section, key, value)
        return options, tags

    def node_value(self, section: IniSection, key: str, value: str) -> object:
        try:
            if key.endswith("endpoint"):
                parsed = Endpoint().parse(value)
                if parsed is None:
                    raise InvalidValue("is empty (expected tcp://HOST:PORT or ipc:///path)")
                return parsed
            if key == "health_timeout":
                return Seconds(positive=True).parse(value)
        except InvalidValue as exc:
            raise self.error(section, str(exc), key) from None
        if key.startswith("curve_"):
            return self.key_file(value)
        if key == "health_url" and not value.startswith(("http://", "https://")):
            raise self.error(section, f"{value!r} is not an http:// or https:// URL", key)
        return value


_OPTION_FIELDS = {"health_timeout": "health_timeout_s"}


def _node(name: str, options: dict[str, object], tags: Sequence[tuple[str, str]]) -> Node:
    given = {_OPTION_FIELDS.get(k, k): v for k, v in options.items()}
    return Node(name=name, tags=tuple(tags), **given)  # type: ignore[arg-type]


def parse_fleet(text: str, path: str = "<fleet>") -> Fleet:
    """A fleet file's text -> Fleet. Raises ConfigError (file, line, section, key, what is valid)."""
    builder = _Builder(path, os.path.dirname(os.path.abspath(path)) if path != "<fleet>" else os.getcwd())
    sections, warnings = parse_ini(text, path)
    if warnings:  # a duplicate key in a file this small is a mistake, not a style
        raise ConfigError(warnings[0])
    fleet_section = next((s for s in sections if s.name == "fleet"), None)
    defaults: dict[str, object] = {}
    discovery = None
    if fleet_section is not None:
        discovery = _discovery(builder, fleet_section)
        plain = IniSection(fleet_section.name, fleet_section.path, fleet_section.line)
        plain.entries = {k: e for k, e in fleet_section.entries.items() if k not in DISCOVERY_KEYS}
        if "endpoint" in plain.entries:
            raise builder.error(
                fleet_section, "each node has its own endpoint: set it in [node:NAME]", "endpoint"
            )
        defaults, fleet_tags = builder.node_options(plain, defaults={})
        if fleet_tags:
            key = fleet_tags[0][0]
            raise builder.error(
                fleet_section,
                f"unknown option (options here: {', '.join(NODE_KEYS[1:] + DISCOVERY_KEYS)}; tags go in "
                "[node:NAME])",
                key if key in fleet_section.entries else TAG_PREFIX + key,
            )
    nodes: list[Node] = []
    for section in sections:
        kind, sep, name = section.name.partition(":")
        if section.name == "fleet":
            continue
        if kind != "node" or not sep or not name.strip():
            hint = did_you_mean(kind, ("node", "fleet"))
            raise builder.error(section, f"unknown section{hint} (expected [fleet] or [node:NAME])")
        name = name.strip()
        if "endpoint" not in section.entries:
            raise builder.error(section, "no endpoint (the daemon's control endpoint, tcp://HOST:PORT)")
        options, tags = builder.node_options(section, defaults=defaults)
        nodes.append(_node(name, options, tags))
    if not nodes and discovery is None:
        raise ConfigError("no [node:NAME] section and no discover in [fleet]: the fleet is empty", path=path)
    default_node = _node("*", {"endpoint": "", **defaults}, ()) if fleet_section is not None else None
    return Fleet(tuple(nodes), default_node, discovery, path)


def _discovery(builder: _Builder, section: IniSection) -> Discovery | None:
    entries = section.entries
    if "discover" not in entries:
        for key in ("discover_interface", "discover_timeout"):
            if key in entries:
                raise builder.error(section, "has no effect without discover = udp://GROUP:PORT", key)
        return None
    try:
        endpoint = MulticastEndpoint().parse(entries["discover"].value)
    except InvalidValue as exc:
        raise builder.error(section, str(exc), "discover") from None
    if not endpoint:
        return None
    timeout = DEFAULT_DISCOVER_TIMEOUT_S
    if "discover_timeout" in entries:
        try:
            timeout = Seconds(positive=True).parse(entries["discover_timeout"].value)
        except InvalidValue as exc:
            raise builder.error(section, str(exc), "discover_timeout") from None
    interface = entries["discover_interface"].value.strip() if "discover_interface" in entries else None
    return Discovery(endpoint, interface or None, timeout)


def read_fleet_file(path: str) -> Fleet:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError("fleet file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the fleet file: {exc}", path=path) from None
    return parse_fleet(text, path)


class SelectionError(ValueError):
    """--node/--tag/--all chose nothing, or named a node that is not there."""


def select_nodes(fleet: Fleet, selection: Selection) -> list[Node]:
    """The nodes chosen, in the fleet's order. Every --node must match a node (a plain name that is
    none gets a did-you-mean); tags narrow the choice (all must match)."""
    if selection.empty:
        raise SelectionError(
            "choose the nodes: --node NAME (repeat it, or NAME,NAME; globs work), --tag KEY=VALUE, or --all "
            f"(nodes: {', '.join(n.name for n in fleet.nodes) or 'none'})"
        )
    names = [n.name for n in fleet.nodes]
    wanted = [w.strip() for item in selection.names for w in item.split(",") if w.strip()]
    for pattern in wanted:
        if not any(fnmatchcase(name, pattern) for name in names):
            raise SelectionError(
                f"no node {pattern!r}{did_you_mean(pattern, names)} (nodes: {', '.join(names)})"
            )
    tags = [_tag_pair(t) for t in selection.tags]
    chosen = []
    for node in fleet.nodes:
        if wanted and not any(fnmatchcase(node.name, p) for p in wanted):
            continue
        if all(node.tag(k) is not None and fnmatchcase(str(node.tag(k)), v) for k, v in tags):
            chosen.append(node)
    if not chosen:
        known = sorted({f"{k}={v}" for n in fleet.nodes for k, v in n.tags})
        raise SelectionError(
            f"no node has {' and '.join(selection.tags)} (tags in the fleet: {', '.join(known) or 'none'})"
        )
    return chosen


def _tag_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SelectionError(f"--tag expects KEY=VALUE (such as env=prod), got {text!r}")
    return key.strip().lower(), value.strip()
