"""$(circus.KEY) / ((circus.KEY)) substitution and $VAR expansion (PROTOCOL 3.6, 3.8)."""

from __future__ import annotations

import pytest

from circus_web_stack.config.substitution import (
    expand_env_vars,
    flatten_variables,
    referenced_keys,
    referenced_sockets,
    substitute,
    uses_legacy_wid,
)

VARIABLES = {"wid": 3, "sockets": {"web": 5, "API": 6}, "env": {"home": "/root"}, "circus.numprocesses": "4"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--wid $(circus.wid)", "--wid 3"),
        ("--wid ((circus.wid))", "--wid 3"),
        ("--fd $(circus.sockets.web) --fd ((circus.sockets.api))", "--fd 5 --fd 6"),
        ("$(CIRCUS.WID) $(Circus.Sockets.Web)", "3 5"),
        ("$(circus.numprocesses) workers", "4 workers"),
        ("$(circus.env.home)/app", "/root/app"),
        ("$(circus.unknown) ((circus.sockets.nope))", "$(circus.unknown) ((circus.sockets.nope))"),
        ("$(wid) $(other.wid) (circus.wid) $circus.wid", "$(wid) $(other.wid) (circus.wid) $circus.wid"),
        ("$(circus.my-key.x)", "$(circus.my-key.x)"),
        ("no variables", "no variables"),
    ],
)
def test_substitute(text, expected):
    assert substitute(text, VARIABLES) == expected


def test_keys_with_dashes_and_the_prefix_in_the_mapping():
    assert substitute("$(circus.my-key.x)", {"circus.My-Key.X": "ok"}) == "ok"


def test_flatten_variables():
    assert flatten_variables({"Sockets": {"Web": 5}, "circus.x": None, "y": True}) == {
        "sockets.web": "5",
        "x": "",
        "y": "True",
    }


def test_references():
    text = "run $(circus.sockets.Web) ((circus.sockets.api)) $(circus.wid)"
    assert referenced_keys(text) == ["sockets.web", "sockets.api", "wid"]
    assert referenced_sockets(text) == {"web", "api"}


@pytest.mark.parametrize(
    ("text", "expected", "missing"),
    [
        ("$PATH:/opt", "/bin:/opt", ()),
        ("${PATH}", "${PATH}", ()),  # Circus's pattern has no braces form
        ("$path and $1", "$path and $1", ()),
        ("$HOME_DIR/x", "/x", ("HOME_DIR",)),
        ("$A1_B", "v", ()),
    ],
)
def test_expand_env_vars(text, expected, missing):
    assert expand_env_vars(text, {"PATH": "/bin", "A1_B": "v"}) == (expected, missing)


@pytest.mark.parametrize(
    ("text", "legacy"), [("run $WID", True), ("$(circus.wid)", False), ("$WIDTH", False)]
)
def test_legacy_wid(text, legacy):
    assert uses_legacy_wid(text) is legacy
