"""Builders: one section's keys and values (from the ini or the API) -> a validated, frozen config object.

The ini loader and the API share these, so `[watcher:web]` in a file, `get_arbiter([{...}])` and the `add`
and `set` commands accept and refuse exactly the same things, with the same messages. Every refusal is a
ConfigError naming the source, line (when there is one), section, option, the bad value and what is valid.
Here: `Where` (where values came from), [circus] and [socket:NAME]; [watcher:NAME] and the `set`
command are in watcher_section.py, [plugin:NAME] in plugin_section.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from circus_web_stack.config.declaration import Option
from circus_web_stack.config.endpoints import is_network_reachable
from circus_web_stack.config.kinds import InvalidValue
from circus_web_stack.config.model import DaemonConfig, SocketConfig
from circus_web_stack.config.options import (
    DAEMON_OPTIONS,
    SOCKET_OPTIONS,
    Section,
    group_of,
    known_keys,
)
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.suggest import did_you_mean


@dataclass
class Where:
    """Where a section's values came from, for error messages and warnings: the section header's file
    and line, and each option's own (path, line), which may be an included file."""

    path: str | None
    section: str
    header_line: int | None = None
    locations: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str, option: str | None = None, *, prefix: str = "") -> ConfigError:
        """The error at `option`'s line; for an option that is missing, at the first key starting with
        `prefix` (stdout_stream.filename missing: the stdout_stream.class line), else the header."""
        path, line = self.path, self.header_line
        near = (
            option
            if option in self.locations
            else next((k for k in self.locations if prefix and k.startswith(prefix)), None)
        )
        if near is not None:
            path, line = self.locations[near]
        return ConfigError(message, path=path, line=line, section=self.section, option=option)

    def warn(self, message: str, option: str | None = None) -> None:
        self.warnings.append(str(self.error(message, option)))

    def parse(self, option: Option, raw: Any) -> Any:
        try:
            return option.kind.parse(raw)
        except InvalidValue as exc:
            raise self.error(str(exc), option.name) from None


def unknown_option(where: Where, key: str, section: Section) -> ConfigError:
    """The refusal of a key the section does not know, with the closest valid key when one is close."""
    group = group_of(key) if section is Section.WATCHER else None
    if group is not None:
        member, members = key[len(group.prefix) :], group.members()
        return where.error(
            f"unknown {group.attribute} option {member!r}{did_you_mean(member, members)}"
            f" (expected one of {', '.join(members)})",
            key,
        )
    hint = did_you_mean(key, known_keys(section))
    if hint:
        return where.error(f"unknown option{hint}", key)
    valid = ", ".join(known_keys(section)) if section is not Section.WATCHER else "see docs/options.md"
    return where.error(f"unknown option (valid: {valid})", key)


def _strict_section(
    items: Mapping[str, Any], where: Where, table: Mapping[str, Option], section: Section
) -> dict[str, Any]:
    """Parsed values of a section that accepts only its table's options (daemon, socket)."""
    values: dict[str, Any] = {}
    for key, raw in items.items():
        option = table.get(key)
        if option is None:
            raise unknown_option(where, key, section)
        value = where.parse(option, raw)
        if option.obsolete:
            where.warn(f"has no effect: {option.obsolete}", key)
        elif option.stored:
            values[key] = value
    return values


# ---- [circus] --------------------------------------------------------------------------------------

_NETWORK_ENDPOINTS = ("endpoint", "pubsub_endpoint", "stats_endpoint")


def build_daemon(items: Mapping[str, Any], where: Where) -> DaemonConfig:
    values = _strict_section(items, where, DAEMON_OPTIONS, Section.DAEMON)
    if values.get("stats_endpoint") and not values.get("statsd"):
        if "statsd" in values:
            raise where.error("stats_endpoint is set but statsd = false; remove one of them", "statsd")
        values["statsd"] = True
        where.warn("setting stats_endpoint turns statsd on (statsd = true)", "stats_endpoint")
    protected = values.get("insecure") or values.get("curve_secret_key_file")
    for name in _NETWORK_ENDPOINTS:
        endpoint = values.get(name)
        if endpoint and is_network_reachable(endpoint) and not protected:
            raise where.error(
                f"{endpoint!r} accepts connections from other hosts, and the control protocol has no "
                "authentication of its own; bind it to 127.0.0.1 or an ipc:// path, set "
                "curve_secret_key_file (CurveZMQ), or set insecure = true to accept the risk",
                name,
            )
    owner = values.get("endpoint_owner")
    if owner and (values.get("endpoint") or "").startswith("tcp://"):
        where.warn(
            "has no effect on a tcp:// endpoint (it changes the owner of an ipc:// socket file)",
            "endpoint_owner",
        )
    return DaemonConfig(**values)


def parse_daemon(options: Mapping[str, Any], *, source: str = "<api>") -> DaemonConfig:
    """DaemonConfig from a mapping of [circus] options (the API's keyword arguments)."""
    return build_daemon({k.lower(): v for k, v in options.items()}, Where(source, "circus"))


# ---- [socket:NAME] ---------------------------------------------------------------------------------


def build_socket(name: str, items: Mapping[str, Any], where: Where) -> SocketConfig:
    values = _strict_section(items, where, SOCKET_OPTIONS, Section.SOCKET)
    if values.get("path"):
        if "family" in values and values["family"] != "AF_UNIX":
            raise where.error(f"{values['family']} conflicts with path (a path means AF_UNIX)", "family")
        values["family"] = "AF_UNIX"
    elif values.get("family") == "AF_UNIX":
        raise where.error("AF_UNIX needs a path (path = /run/app.sock)", "family")
    return SocketConfig(name=name.lower(), **values)


def parse_socket(name: str, options: Mapping[str, Any], *, source: str = "<api>") -> SocketConfig:
    """SocketConfig from a mapping of [socket:NAME] options (the API)."""
    items = {k.lower(): v for k, v in options.items() if k.lower() != "name"}
    return build_socket(name, items, Where(source, f"socket:{name.lower()}"))


__all__ = [
    "Where",
    "build_daemon",
    "build_socket",
    "parse_daemon",
    "parse_socket",
    "unknown_option",
]
