"""The ini dialect of Circus (PROTOCOL 3.1), read with file and line for every value."""

from __future__ import annotations

import pytest

from circus_web_stack.config.ini import merge_sections, parse_ini
from circus_web_stack.core.errors import ConfigError


def _values(text: str) -> dict[str, dict[str, str]]:
    sections, _ = parse_ini(text, "c.ini")
    return {s.name: {k: e.value for k, e in s.entries.items()} for s in sections}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[a]\nx = 1\n", {"a": {"x": "1"}}),
        ("[a]\nx: 1\n", {"a": {"x": "1"}}),
        ("[a]\n# comment\n; comment\nx = 1\n", {"a": {"x": "1"}}),
        ("[a]\nrem a comment\nREM another\nx = 1\n", {"a": {"x": "1"}}),
        ("[a]\n  # indented comment\nx = 1\n", {"a": {"x": "1"}}),
        ("[a]\nx = 1 ; inline comment\n", {"a": {"x": "1"}}),
        ("[a]\nx = 1;not a comment\n", {"a": {"x": "1;not a comment"}}),
        ("[a]\nx = a # not a comment\n", {"a": {"x": "a # not a comment"}}),
        ('[a]\nx = ""\n', {"a": {"x": ""}}),
        ("[a]\nx =\n", {"a": {"x": ""}}),
        ("[a]\nx = one\n  two\n\n  three\ny = 2\n", {"a": {"x": "one\ntwo\nthree", "y": "2"}}),
        ("[a]\nx =\n  --flag\n", {"a": {"x": "--flag"}}),
        ("[a]\nNumProcesses = 2\n", {"a": {"numprocesses": "2"}}),
        ("[env]\nPath = /bin\n", {"env": {"Path": "/bin"}}),
        ("[env:web]\nDJANGO_SETTINGS = x\n", {"env:web": {"DJANGO_SETTINGS": "x"}}),
        ("[a]\nurl = http://x:80/?a=b\n", {"a": {"url": "http://x:80/?a=b"}}),
        ("[a]\nPATH = $PATH:/opt\n", {"a": {"path": "$PATH:/opt"}}),
        ("[a]\nx = 100%\n", {"a": {"x": "100%"}}),  # no % interpolation
        ("[a]\n[b]\ny = 1\n", {"a": {}, "b": {"y": "1"}}),
    ],
)
def test_parses(text, expected):
    assert _values(text) == expected


def test_duplicate_option_first_wins_with_a_warning():
    sections, warnings = parse_ini("[a]\nx = first\n  more\nx = second\n  ignored too\n", "c.ini")
    assert sections[0].entries["x"].value == "first\nmore"
    assert warnings == ["c.ini:4 [a] x: duplicate option; the first value (line 2 of c.ini) is used"]


def test_duplicate_section_in_one_file_merges():
    assert _values("[a]\nx = 1\n[b]\nz = 3\n[a]\ny = 2\n") == {"a": {"x": "1", "y": "2"}, "b": {"z": "3"}}


def test_entries_know_their_line():
    sections, _ = parse_ini("[a]\n\nx = 1\n# c\ny = 2\n", "c.ini")
    assert [(e.key, e.line, e.path) for e in sections[0].entries.values()] == [
        ("x", 3, "c.ini"),
        ("y", 5, "c.ini"),
    ]
    assert sections[0].line == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", "c.ini:1: 'x = 1' comes before any [section]"),
        ("[a]\njust words\n", "c.ini:2 [a]: 'just words' is not an option line (expected 'name = value')"),
        ("[a]\n= 1\n", "c.ini:2 [a]: '= 1' is not an option line"),
        ("[a\nx = 1\n", "c.ini:1: malformed section header '[a' (expected [kind:name])"),
        ("[]\n", "c.ini:1: malformed section header '[]'"),
    ],
)
def test_malformed_lines_are_refused_with_their_line(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_ini(text, "c.ini")
    assert str(caught.value).startswith(message)


def test_merge_keeps_the_first_files_values():
    main, _ = parse_ini("[a]\nx = main\n", "main.ini")
    extra, _ = parse_ini("[a]\nx = extra\ny = extra\n[b]\nz = 1\n", "inc.ini")
    warnings: list[str] = []
    merged = merge_sections(main, extra, warnings)
    assert {s.name: {k: e.value for k, e in s.entries.items()} for s in merged} == {
        "a": {"x": "main", "y": "extra"},
        "b": {"z": "1"},
    }
    assert merged[0].entries["y"].path == "inc.ini"
    assert warnings == ["inc.ini:2 [a] x: ignored: already set at line 2 of main.ini, which wins"]
