"""A small reader for Circus's ini dialect that remembers the file and line of every value.

Rules (PROTOCOL 3.1): no % interpolation; `#`/`;` comment lines and `rem` lines; an inline comment is a
`;` after whitespace; `""` is the empty string; indented lines continue the previous value (joined with
newlines); within a section the FIRST value of a duplicate option wins (with a warning); a section that
appears twice, in one file or across includes, is merged. Option names are case-insensitive (lower-cased)
except in [env] and [env:...] sections, whose names are environment variables. Pure: text in, sections out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from circus_web_stack.core.errors import ConfigError

_HEADER = re.compile(r"\[(?P<name>[^\]]*)\]\s*(?:[#;].*)?")
_INLINE_COMMENT = re.compile(r"\s;")


@dataclass(frozen=True)
class IniEntry:
    key: str
    value: str
    path: str
    line: int


@dataclass
class IniSection:
    name: str
    path: str
    line: int  # the header line where the section first appeared
    entries: dict[str, IniEntry] = field(default_factory=dict)


def keeps_key_case(section: str) -> bool:
    return section == "env" or section.startswith("env:")


def _warning(
    message: str, path: str, line: int, section: str | None = None, option: str | None = None
) -> str:
    return str(ConfigError(message, path=path, line=line, section=section, option=option))


def parse_ini(text: str, path: str) -> tuple[list[IniSection], list[str]]:
    """Sections in order of first appearance, and warnings. Raises ConfigError on malformed lines."""
    sections: dict[str, IniSection] = {}
    warnings: list[str] = []
    current: IniSection | None = None
    # the entry that indented lines continue: (key, lines so far, line number) or None
    pending: tuple[str, list[str], int] | None = None
    pending_ignored = False  # continuation of a duplicate option: dropped with it

    def flush() -> None:
        nonlocal pending
        if pending is not None and current is not None and not pending_ignored:
            key, lines, line = pending
            value = "\n".join(lines).strip()
            current.entries[key] = IniEntry(key, "" if value == '""' else value, path, line)
        pending = None

    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped == "" or stripped[0] in "#;":
            continue
        if raw[0] in "rR" and stripped.split(None, 1)[0].lower() == "rem":
            continue
        if raw[0].isspace() and pending is not None:
            pending[1].append(stripped)
            continue
        flush()
        if stripped.startswith("["):
            match = _HEADER.fullmatch(stripped)
            name = match["name"].strip() if match else ""
            if not name:
                raise ConfigError(
                    f"malformed section header {stripped!r} (expected [kind:name])", path=path, line=number
                )
            current = sections.get(name)
            if current is None:
                current = sections[name] = IniSection(name, path, number)
            continue
        if current is None:
            raise ConfigError(f"{stripped!r} comes before any [section]", path=path, line=number)
        separator = min((i for i in (stripped.find("="), stripped.find(":")) if i > 0), default=-1)
        if separator < 0:
            raise ConfigError(
                f"{stripped!r} is not an option line (expected 'name = value')",
                path=path,
                line=number,
                section=current.name,
            )
        key = stripped[:separator].strip()
        if not keeps_key_case(current.name):
            key = key.lower()
        value = stripped[separator + 1 :]
        comment = _INLINE_COMMENT.search(value)
        if comment:
            value = value[: comment.start()]
        first = current.entries.get(key)
        pending_ignored = first is not None
        if first is not None:
            warnings.append(
                _warning(
                    f"duplicate option; the first value (line {first.line} of {first.path}) is used",
                    path,
                    number,
                    current.name,
                    key,
                )
            )
        pending = (key, [value.strip()], number)
    flush()
    return list(sections.values()), warnings


def merge_sections(base: list[IniSection], extra: list[IniSection], warnings: list[str]) -> list[IniSection]:
    """`extra` (an included file) merged into `base`: new sections are appended, existing ones gain only
    the keys they lack, so the first file read wins."""
    merged = {section.name: section for section in base}
    for section in extra:
        target = merged.get(section.name)
        if target is None:
            merged[section.name] = section
            continue
        for key, entry in section.entries.items():
            first = target.entries.get(key)
            if first is None:
                target.entries[key] = entry
            elif first.value != entry.value:
                warnings.append(
                    _warning(
                        f"ignored: already set at line {first.line} of {first.path}, which wins",
                        entry.path,
                        entry.line,
                        section.name,
                        key,
                    )
                )
    return list(merged.values())
