"""Line assembly, line decoration and rotation decisions of the output streams (pure code, no I/O)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.lines import LineAssembler, Piece, circus_line_prefix, decorate_lines
from circus_web_stack.core.log_rotation import TimedRotation, bytes_fitting, size_rotation_renames

# -- LineAssembler ---------------------------------------------------------------------------------


def test_whole_lines_pass_and_the_unfinished_one_waits() -> None:
    lines = LineAssembler()
    assert lines.feed(b"one\ntw") == Piece(b"one\n", starts_line=True, ends_line=True)
    assert lines.pending == b"tw"
    assert lines.feed(b"o") is None
    assert lines.feed(b"\nthree\n") == Piece(b"two\nthree\n", starts_line=True, ends_line=True)
    assert lines.pending == b""
    assert lines.finish() is None


def test_finish_closes_the_unfinished_line_with_a_newline() -> None:
    lines = LineAssembler()
    lines.feed(b"last words")
    assert lines.finish() == Piece(b"last words\n", starts_line=True, ends_line=True)
    assert lines.finish() is None


def test_an_over_long_line_is_passed_on_in_pieces_and_its_end_is_marked() -> None:
    lines = LineAssembler(max_line_bytes=4)
    assert lines.feed(b"ab") is None
    assert lines.feed(b"cde") == Piece(b"abcde", starts_line=True, ends_line=False)
    assert lines.feed(b"f\ng") == Piece(b"f\n", starts_line=False, ends_line=True)
    assert lines.pending == b"g"


def test_finish_after_a_passed_on_piece_ends_that_line() -> None:
    lines = LineAssembler(max_line_bytes=2)
    lines.feed(b"abc")
    assert lines.finish() == Piece(b"\n", starts_line=False, ends_line=True)


@given(st.lists(st.binary(max_size=40), max_size=30), st.integers(min_value=1, max_value=16))
def test_pieces_reassemble_the_input_and_never_split_short_lines(chunks: list[bytes], limit: int) -> None:
    lines = LineAssembler(max_line_bytes=limit)
    pieces = [p for p in (lines.feed(c) for c in chunks) if p is not None]
    last = lines.finish()
    pieces += [last] if last else []
    data = b"".join(chunks)
    expected = data if not data or data.endswith(b"\n") else data + b"\n"
    assert b"".join(p.data for p in pieces) == expected
    for piece in pieces:
        assert piece.ends_line == piece.data.endswith(b"\n")
        if not piece.ends_line:  # only an over-long line is ever cut
            assert len(piece.data.rsplit(b"\n", 1)[-1]) > limit


# -- decoration ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("piece", "expected"),
    [
        (Piece(b"a\nb\n", True, True), b"> a;\n> b;\n"),
        (Piece(b"\n", True, True), b"> ;\n"),
        (Piece(b"tail\nnext", False, False), b"tail;\n> next"),
        (Piece(b"start", True, False), b"> start"),
        (Piece(b"end\n", False, True), b"end;\n"),
    ],
)
def test_decorate_lines_puts_prefix_at_line_starts_and_suffix_before_newlines(
    piece: Piece, expected: bytes
) -> None:
    assert decorate_lines(piece, b"> ", b";") == expected


def test_decorate_without_prefix_or_suffix_is_the_data_itself() -> None:
    piece = Piece(b"a\nb\n", True, True)
    assert decorate_lines(piece, b"") is piece.data


def test_circus_line_prefix() -> None:
    assert circus_line_prefix("12:00:01", 4121) == b"12:00:01 [4121] | "


# -- size rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "used", "max_bytes", "fitting"),
    [
        (b"aaaa\nbbbb\n", 0, 100, 10),  # everything fits
        (b"aaaa\nbbbb\n", 0, 10, 10),  # exactly max_bytes still fits
        (b"aaaa\nbbbb\n", 0, 9, 5),  # cut at the last line that fits
        (b"aaaa\nbbbb\n", 5, 9, 0),  # not even one line: rotate first
        (b"aaaaaaaaaa\nb\n", 0, 4, 11),  # one line longer than max_bytes gets an empty file to itself
        (b"aaaaaaaaaa", 0, 4, 10),  # ... also without a newline
        (b"aaaaaaaaaa", 3, 4, 0),
        (b"aa\n", 20, 4, 0),  # file already over the limit (max_bytes lowered on reload)
    ],
)
def test_bytes_fitting(block: bytes, used: int, max_bytes: int, fitting: int) -> None:
    assert bytes_fitting(block, used, max_bytes) == fitting


def test_size_rotation_renames_oldest_first() -> None:
    assert size_rotation_renames("app.log", 3) == [
        ("app.log.2", "app.log.3"),
        ("app.log.1", "app.log.2"),
        ("app.log", "app.log.1"),
    ]
    assert size_rotation_renames("app.log", 1) == [("app.log", "app.log.1")]


# -- timed rotation --------------------------------------------------------------------------------


def _utc(text: str) -> float:
    return datetime.fromisoformat(text + "+00:00").timestamp()


@pytest.mark.parametrize(
    ("when", "interval", "now", "rollover"),
    [
        ("S", 1, "2024-05-01T10:00:00", "2024-05-01T10:00:01"),
        ("s", 30, "2024-05-01T10:00:00", "2024-05-01T10:00:30"),
        ("M", 2, "2024-05-01T10:00:00", "2024-05-01T10:02:00"),
        ("H", 1, "2024-05-01T10:30:00", "2024-05-01T11:30:00"),
        ("D", 1, "2024-05-01T10:30:00", "2024-05-02T10:30:00"),
        ("midnight", 1, "2024-05-01T10:30:00", "2024-05-02T00:00:00"),
        ("MIDNIGHT", 2, "2024-05-01T00:00:00", "2024-05-03T00:00:00"),
        ("W0", 1, "2024-05-01T10:30:00", "2024-05-06T00:00:00"),  # Wednesday -> next Monday
        ("W2", 1, "2024-05-01T10:30:00", "2024-05-08T00:00:00"),  # Wednesday -> next Wednesday
        ("W2", 2, "2024-05-01T10:30:00", "2024-05-15T00:00:00"),
        ("W6", 1, "2024-05-04T23:59:59", "2024-05-05T00:00:00"),  # Saturday -> Sunday
    ],
)
def test_next_rollover_in_utc(when: str, interval: int, now: str, rollover: str) -> None:
    schedule = TimedRotation.parse(when, interval, utc=True)
    assert schedule.next_rollover(_utc(now)) == _utc(rollover)


def test_next_midnight_in_local_time_is_a_local_midnight() -> None:
    schedule = TimedRotation.parse("midnight", 1, utc=False)
    now = time.mktime((2024, 5, 1, 10, 30, 0, 0, 0, -1))
    assert time.localtime(schedule.next_rollover(now))[:6] == (2024, 5, 2, 0, 0, 0)


@pytest.mark.parametrize(
    ("when", "interval", "rollover", "suffix"),
    [
        ("S", 1, "2024-05-01T10:00:01", "20240501100000"),
        ("M", 1, "2024-05-01T10:01:00", "202405011000"),
        ("H", 1, "2024-05-01T11:00:00", "2024050110"),
        ("D", 1, "2024-05-02T10:00:00", "20240501"),
        ("midnight", 1, "2024-05-02T00:00:00", "20240501"),
        ("W0", 1, "2024-05-06T00:00:00", "20240429"),
    ],
)
def test_backup_suffix_names_the_start_of_the_period(
    when: str, interval: int, rollover: str, suffix: str
) -> None:
    assert TimedRotation.parse(when, interval, utc=True).backup_suffix(_utc(rollover)) == suffix


def test_expired_backups_keeps_the_newest_and_ignores_other_files() -> None:
    schedule = TimedRotation.parse("midnight", 1, utc=True)
    names = [
        "app.log",
        "app.log.20240503",
        "app.log.20240501",
        "app.log.20240502",
        "app.log.1",  # a size-rotation backup: not ours
        "app.log.2024050110",  # an hourly backup: not ours
        "other.log.20240401",
    ]
    assert schedule.expired_backups(names, "app.log", 2) == ["app.log.20240501"]
    assert schedule.expired_backups(names, "app.log", 3) == []
    assert schedule.expired_backups(names, "app.log", 0) == []  # 0 keeps everything


@pytest.mark.parametrize(
    ("when", "interval", "option", "message"),
    [
        ("X", 1, "rotate_when", "use one of S, M, H, D, midnight, W0"),
        ("W7", 1, "rotate_when", "'W7' is not a rotation period"),
        ("H", 0, "rotate_interval", "must be 1 or more, got 0"),
    ],
)
def test_invalid_schedules_name_the_option(when: str, interval: int, option: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TimedRotation.parse(when, interval, utc=False)
    assert caught.value.option == option
    assert message in str(caught.value)
