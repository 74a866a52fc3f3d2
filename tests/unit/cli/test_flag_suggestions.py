"""Every program's command line suggests the nearest flag for a mistyped one (cli/common.Parser)."""

from __future__ import annotations

import pytest

from circus_web_stack.cli import circusd, circusd_stats, circushttpd, top


@pytest.mark.parametrize(
    ("build", "argv", "hint"),
    [
        (
            circusd.build_parser,
            ["x.ini", "--log-levle"],
            "--log-levle (did you mean '--log-level'?)",
        ),
        (top.build_parser, ["--endpont", "ipc:///x"], "--endpont (did you mean '--endpoint'?)"),
        (
            circusd_stats.build_parser,
            ["--statpoint=x"],
            "--statpoint=x (did you mean '--statspoint'?)",
        ),
        (circushttpd.build_parser, ["--no-tokn"], "--no-tokn (did you mean '--no-token'?)"),
    ],
)
def test_an_unknown_flag_gets_the_nearest_one(build, argv, hint, capsys):
    with pytest.raises(SystemExit) as exited:
        build().parse_args(argv)
    assert exited.value.code == 2
    assert hint in capsys.readouterr().err


def test_nothing_is_suggested_when_nothing_is_close(capsys):
    with pytest.raises(SystemExit):
        top.build_parser().parse_args(["--zzz"])
    err = capsys.readouterr().err
    assert "unrecognized arguments: --zzz\n" in err and "did you mean" not in err
