"""circusctl's grammar: one row per command of the wire table, words bound to properties."""

from __future__ import annotations

import pytest

from circus_web_stack.cli.grammar import GRAMMAR, Arity, UsageError, bind_positionals
from circus_web_stack.protocol.commands import COMMANDS, validate
from circus_web_stack.protocol.properties import PropType


def test_every_command_has_one_grammar_row():
    assert list(GRAMMAR) == list(COMMANDS)
    assert all(GRAMMAR[name].spec is COMMANDS[name] for name in COMMANDS)


@pytest.mark.parametrize("grammar", GRAMMAR.values(), ids=lambda g: g.spec.name)
def test_rows_spell_only_properties_of_the_table(grammar):
    spec = grammar.spec
    props = spec.props_by_name
    for pos in grammar.positionals:
        assert pos.prop in props, f"{spec.name}: positional {pos.prop} has no property"
    for flag in grammar.flags:
        assert flag.prop in props, f"{spec.name}: flag --{flag.option} sets unknown {flag.prop}"
    options = {f.option for f in grammar.flags}
    assert ("waiting" in options) == spec.takes_waiting
    assert ("match" in options) == spec.takes_match
    assert grammar.usage.startswith(f"circusctl {spec.name}")


@pytest.mark.parametrize(
    ("command", "words", "expected"),
    [
        ("incr", ["web"], {"name": "web"}),
        ("incr", ["web", "2"], {"name": "web", "nb": 2}),
        ("signal", ["web", "USR1"], {"name": "web", "signum": "USR1"}),
        ("signal", ["web", "42", "USR1"], {"name": "web", "pid": 42, "signum": "USR1"}),
        ("stats", [], {}),
        ("stats", ["web"], {"name": "web"}),
        ("stats", ["web", "42"], {"name": "web", "process": 42}),
        (
            "get",
            ["web", "numprocesses", "graceful_timeout"],
            {"name": "web", "keys": ["numprocesses", "graceful_timeout"]},
        ),
        ("set", ["web", "NumProcesses", "3"], {"name": "web", "options": {"numprocesses": "3"}}),
        (
            "set",
            ["web", "env", "A=1,B=2", "shell", "x"],
            {"name": "web", "options": {"env": "A=1,B=2", "shell": "x"}},
        ),
        ("add", ["web", "python app.py"], {"name": "web", "cmd": "python app.py"}),
        ("add", ["web", "python", "-m", "x y"], {"name": "web", "cmd": "python", "args": ["-m", "x y"]}),
        ("listen", [], {}),
        ("listen", ["watcher.web.", "watcher.api."], {"topics": ["watcher.web.", "watcher.api."]}),
        ("globaloptions", ["endpoint"], {"option": "endpoint"}),
    ],
)
def test_bind_positionals(command, words, expected):
    assert bind_positionals(GRAMMAR[command], words) == expected


@pytest.mark.parametrize(
    ("command", "words", "message"),
    [
        ("incr", [], "needs <name>"),
        ("incr", ["web", "2", "3"], "too many arguments (3)"),
        ("incr", ["web", "two"], "<nb> must be an integer"),
        ("set", ["web", "numprocesses"], "needs <name> <key>"),
        ("set", ["web", "numprocesses", "3", "cmd"], "a key has no value"),
        ("signal", ["web"], "missing"),
        ("numwatchers", ["x"], "too many arguments"),
    ],
)
def test_bind_positionals_usage_errors(command, words, message):
    with pytest.raises(UsageError) as exc:
        bind_positionals(GRAMMAR[command], words)
    assert message in str(exc.value)


def test_every_positional_arity_and_type_is_bindable():
    # Each row's own usage, filled with plausible words, binds and validates.
    sample = {
        PropType.INT: "7",
        PropType.SIGNAL: "TERM",
        PropType.STR: "web",
        PropType.STR_LIST: "numprocesses",
    }
    for grammar in GRAMMAR.values():
        spec = grammar.spec
        if spec.client_only:
            continue
        words: list[str] = []
        for pos in grammar.positionals:
            if pos.arity is Arity.PAIRS:
                words += ["numprocesses", "2"]
            elif pos.arity is Arity.COMMAND_LINE:
                words += ["python", "app.py"]
            elif pos.arity is not Arity.OPTIONAL:
                words.append(sample[spec.props_by_name[pos.prop].type])
        validate(spec.name, bind_positionals(grammar, words))
