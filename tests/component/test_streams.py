"""Output streams with real children writing through real pipes into pump_pipe() on the gevent hub."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import psutil
import pytest

from circus_web_stack.core.errors import ConfigError
from circus_web_stack.runtime.streams import (
    CallableStream,
    FancyStdoutStream,
    FileStream,
    QueueStream,
    StdoutStream,
    Stream,
    TimedRotatingFileStream,
    WatchedFileStream,
    open_stream,
    pump_pipe,
)

# A child that copies each line of its stdin to its stdout: the test decides when each line is written.
ECHO = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line)\n    sys.stdout.flush()\n"

# The numbered lines a flooding child writes (and the test expects back): varying lengths, so 64 KiB reads
# end mid-line everywhere.
NUMBERED = """
import sys
tag = sys.argv[1].encode()
pad = b"x" * 90
def block(first, count):
    return b"".join(b"%s %08d %s\\n" % (tag, n, pad[: n % 83 + 5]) for n in range(first, first + count))
"""
FLOOD = (
    NUMBERED
    + """
total, first, limit = 0, 0, int(sys.argv[2])
while total < limit:
    chunk = block(first, 1000)
    sys.stdout.buffer.write(chunk)
    total += len(chunk)
    first += 1000
sys.stdout.buffer.flush()
"""
)


def expected_flood(tag: str, limit: int) -> bytes:
    namespace: dict[str, Any] = {}
    argv, sys.argv = sys.argv, ["-", tag]
    try:
        exec(NUMBERED, namespace)
    finally:
        sys.argv = argv
    chunks, total, first = [], 0, 0
    while total < limit:
        chunk = namespace["block"](first, 1000)
        chunks.append(chunk)
        total += len(chunk)
        first += 1000
    return b"".join(chunks)


def wait_for(condition: Callable[[], object], timeout_s: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        gevent.sleep(0.01)


class Children:
    """Starts children with a piped stdout handed to pump_pipe; stops any still running at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def pump(
        self, stream: Stream, code: str, *args: str, stdin: bool = False, name: str = "stdout"
    ) -> tuple[subprocess.Popen[bytes], gevent.Greenlet]:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        return proc, pump_pipe(proc.stdout, stream, proc.pid, name)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)
            if proc.stdin:
                proc.stdin.close()


@pytest.fixture
def children() -> Iterator[Children]:
    started = Children()
    yield started
    started.stop_all()


def send(proc: subprocess.Popen[bytes], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line.encode() + b"\n")
    proc.stdin.flush()


def end(proc: subprocess.Popen[bytes], pump: gevent.Greenlet) -> None:
    """Closes the child's stdin (it exits), then waits for the pump to read to EOF."""
    assert proc.stdin is not None
    proc.stdin.close()
    pump.join(5)
    assert pump.ready(), "pump did not reach EOF"
    proc.wait(timeout=5)


def contents(path: Path) -> str:
    return path.read_text() if path.exists() else ""


# -- every byte, once, in order --------------------------------------------------------------------


@pytest.mark.slow
def test_50_mb_of_numbered_lines_arrive_exactly_once_in_order(tmp_path: Path, children: Children) -> None:
    limit = 50_000_000
    stream = FileStream(str(tmp_path / "out.log"))
    started = time.monotonic()
    proc, pump = children.pump(stream, FLOOD, "A", str(limit))
    pump.join(20)
    assert pump.ready()
    assert proc.wait(timeout=5) == 0
    stream.close()
    elapsed = time.monotonic() - started
    assert (tmp_path / "out.log").read_bytes() == expected_flood("A", limit)
    assert pump.value >= limit
    assert elapsed < 10, f"50 MB took {elapsed:.1f}s"


def test_two_children_sharing_a_file_never_interleave_mid_line(tmp_path: Path, children: Children) -> None:
    limit = 3_000_000
    stream = FileStream(str(tmp_path / "out.log"))
    pumps = [children.pump(stream, FLOOD, tag, str(limit))[1] for tag in ("A", "B")]
    gevent.joinall(pumps, timeout=15)
    assert all(p.ready() for p in pumps)
    stream.close()
    lines = (tmp_path / "out.log").read_bytes().splitlines(keepends=True)
    for tag in ("A", "B"):
        mine = b"".join(line for line in lines if line.startswith(tag.encode() + b" "))
        assert mine == expected_flood(tag, limit)
    assert len(lines) == 2 * expected_flood("A", limit).count(b"\n")  # nothing else, nothing torn


def test_an_unfinished_line_waits_while_another_process_writes_whole_ones(
    tmp_path: Path, children: Children
) -> None:
    stream = FileStream(str(tmp_path / "out.log"))
    partial = "import os, sys\nos.write(1, b'A-start')\nsys.stdin.readline()\nos.write(1, b'-end\\n')\n"
    writer_a, pump_a = children.pump(stream, partial, stdin=True)
    writer_b, pump_b = children.pump(stream, ECHO, stdin=True)
    wait_for(lambda: stream._sources.get((writer_a.pid, "stdout")) is not None, what="A's partial line")
    send(writer_b, "B whole line")
    wait_for(lambda: contents(tmp_path / "out.log") == "B whole line\n", what="B's line")
    send(writer_a, "go")
    end(writer_a, pump_a)
    end(writer_b, pump_b)
    stream.close()
    assert contents(tmp_path / "out.log") == "B whole line\nA-start-end\n"


# -- nothing lost at exit --------------------------------------------------------------------------


def test_a_last_line_without_newline_written_just_before_exit_is_kept(
    tmp_path: Path, children: Children
) -> None:
    stream = FileStream(str(tmp_path / "out.log"))
    proc, pump = children.pump(stream, "import os\nos.write(1, b'first\\nlast words')\nos._exit(3)\n")
    pump.join(5)
    assert proc.wait(timeout=5) == 3
    stream.close()
    assert contents(tmp_path / "out.log") == "first\nlast words\n"


def test_output_of_a_child_that_already_exited_is_read_to_the_end(tmp_path: Path, children: Children) -> None:
    stream = FileStream(str(tmp_path / "out.log"))
    code = "import sys\nsys.stdout.write(''.join('line %d\\n' % n for n in range(4000)))\n"  # ~40 KB
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    children.procs.append(proc)
    assert proc.wait(timeout=5) == 0  # dead before anything was read
    # A bare descriptor: the pump owns it from here on.
    assert proc.stdout is not None
    fd = os.dup(proc.stdout.fileno())
    proc.stdout.close()
    pump = pump_pipe(fd, stream, proc.pid, "stdout")
    pump.join(5)
    stream.close()
    assert contents(tmp_path / "out.log") == "".join(f"line {n}\n" for n in range(4000))


# -- time_format -----------------------------------------------------------------------------------


def test_time_format_prefixes_every_line_with_time_and_pid(tmp_path: Path, children: Children) -> None:
    stream = FileStream(str(tmp_path / "out.log"), time_format="%Y-%m-%d %H:%M:%S")
    code = "import os\nos.write(1, b'one\\ntwo\\nthr')\nos.write(1, b'ee\\n\\nfive')\n"
    proc, pump = children.pump(stream, code)
    pump.join(5)
    proc.wait(timeout=5)
    stream.close()
    lines = contents(tmp_path / "out.log").splitlines()
    prefix = rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \[{proc.pid}\] \| "
    assert [re.sub(prefix, "", line) for line in lines] == ["one", "two", "three", "", "five"]
    assert all(re.match(prefix, line) for line in lines)


# -- size rotation ---------------------------------------------------------------------------------


def test_file_stream_rotates_by_size_keeping_backup_count_files(tmp_path: Path, children: Children) -> None:
    log = tmp_path / "out.log"
    stream = FileStream(str(log), max_bytes=1000, backup_count=3)
    # 100 lines of 50 bytes: 20 lines fill a file exactly, so 5 files' worth, the oldest dropped.
    code = "import sys\nfor n in range(100):\n    sys.stdout.write('%049d\\n' % n)\n"
    proc, pump = children.pump(stream, code)
    pump.join(5)
    proc.wait(timeout=5)
    stream.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.log", "out.log.1", "out.log.2", "out.log.3"]
    for suffix, first in (("", 80), (".1", 60), (".2", 40), (".3", 20)):
        assert contents(tmp_path / f"out.log{suffix}") == "".join(
            f"{n:049d}\n" for n in range(first, first + 20)
        )


def test_file_stream_without_backup_count_never_rotates(tmp_path: Path) -> None:
    stream = FileStream(str(tmp_path / "out.log"), max_bytes=10)
    stream.write(b"a line longer than ten bytes\nand another one\n", 1, "stdout")
    stream.close()
    assert [p.name for p in tmp_path.iterdir()] == ["out.log"]


def test_reopen_after_an_external_rename_starts_a_new_file(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    stream = FileStream(str(log))
    stream.write(b"before\n", 1, "stdout")
    log.rename(tmp_path / "out.log.old")
    stream.write(b"still to the open file\n", 1, "stdout")
    stream.reopen()
    stream.write(b"after\n", 1, "stdout")
    stream.close()
    assert contents(tmp_path / "out.log.old") == "before\nstill to the open file\n"
    assert contents(log) == "after\n"


# -- WatchedFileStream -----------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", ["rename", "delete"])
def test_watched_file_stream_follows_logrotate(tmp_path: Path, children: Children, rotation: str) -> None:
    log = tmp_path / "out.log"
    stream = WatchedFileStream(str(log))
    proc, pump = children.pump(stream, ECHO, stdin=True)
    send(proc, "before")
    wait_for(lambda: contents(log) == "before\n", what="the first line")
    if rotation == "rename":
        log.rename(tmp_path / "out.log.1")
    else:
        log.unlink()
    send(proc, "after")
    wait_for(lambda: contents(log) == "after\n", what="the line after rotation in a new file")
    end(proc, pump)
    stream.close()
    if rotation == "rename":
        assert contents(tmp_path / "out.log.1") == "before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["out.log", "out.log.1"] if rotation == "rename" else ["out.log"]
    )


# -- TimedRotatingFileStream -----------------------------------------------------------------------


@pytest.mark.slow
def test_timed_rotation_each_second_keeps_backup_count_files(tmp_path: Path, children: Children) -> None:
    log = tmp_path / "out.log"
    stream = TimedRotatingFileStream(str(log), backup_count=1, rotate_when="S", rotate_interval=1)
    proc, pump = children.pump(stream, ECHO, stdin=True)
    backups_seen = []  # after each word: {backup name: contents}
    for word in ("one", "two", "three"):
        send(proc, word)
        wait_for(lambda w=word: contents(log) == f"{w}\n", what=f"{word!r} in the live file")
        backups_seen.append({p.name: contents(p) for p in tmp_path.iterdir() if p.name != "out.log"})
        if word != "three":
            wait_for(lambda: time.time() >= stream.rollover_at, what="the next period")
    end(proc, pump)
    stream.close()
    # (After "one" there may be an empty backup, if the child took over a second to start.)
    assert list(backups_seen[1].values()) == ["one\n"]
    assert re.fullmatch(r"out\.log\.\d{14}", next(iter(backups_seen[1])))
    assert list(backups_seen[2].values()) == ["two\n"]  # and the backup of "one" was deleted


# -- backpressure and a free hub -------------------------------------------------------------------


class SlowSink:
    """A dotted-path stream class for open_stream: sleeps on every call, as a slow network sink would."""

    def __init__(self, delay: str) -> None:
        self.delay = float(delay)
        self.received = 0
        self.calls = 0
        self.closed = False

    def __call__(self, message: dict[str, Any]) -> None:
        assert set(message) == {"data", "pid", "name"}
        assert message["data"].endswith(b"\n")
        time.sleep(self.delay)
        self.received += len(message["data"])
        self.calls += 1

    def close(self) -> None:
        self.closed = True


def test_a_slow_callable_blocks_the_child_not_the_hub_or_the_memory(children: Children) -> None:
    stream = open_stream(f"{__name__}.SlowSink", {"delay": "0.12"}, option_prefix="stdout_stream")
    assert isinstance(stream, CallableStream)
    sink = stream.target
    me = psutil.Process()
    rss_before = me.memory_info().rss
    # The child would write 500 MB as fast as it can if nothing held it back.
    proc, pump = children.pump(stream, FLOOD, "A", "500000000")
    gaps: list[float] = []
    rss_peak = rss_before

    def tick() -> None:
        nonlocal rss_peak
        last = time.monotonic()
        while True:
            gevent.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            rss_peak = max(rss_peak, me.memory_info().rss)

    ticker = gevent.spawn(tick)
    try:
        wait_for(lambda: sink.calls >= 8, timeout_s=5, what="8 slow calls")
    finally:
        ticker.kill()
    proc.kill()
    pump.join(10)
    assert pump.ready(), "pump did not reach EOF after the child was killed"
    stream.close()
    assert sink.closed
    assert max(gaps) < 0.1, f"the hub was blocked for {max(gaps) * 1000:.0f} ms"
    assert rss_peak - rss_before < 20 * 2**20, f"daemon memory grew by {(rss_peak - rss_before) >> 20} MiB"
    # What the sink got is what the pump read (plus the newline closing the line the kill cut short):
    # nothing piled up in between.
    assert sink.received - pump.value in (0, 1)


# -- the other stream classes ----------------------------------------------------------------------


def test_queue_stream_hands_whole_lines_as_circus_messages(children: Children) -> None:
    stream = QueueStream(maxsize=2)
    code = "import os\nfor n in range(50):\n    os.write(1, b'line %d\\n' % n)\n"
    proc, pump = children.pump(stream, code)
    expected = b"".join(b"line %d\n" % n for n in range(50))
    received = b""
    while len(received) < len(expected):
        message = stream.get(timeout=5)
        assert message["pid"] == proc.pid and message["name"] == "stdout"
        assert message["data"].endswith(b"\n")
        received += message["data"]
    assert received == expected
    pump.join(5)
    assert pump.ready() and stream.qsize() == 0
    proc.wait(timeout=5)


def test_stdout_streams_write_to_the_daemons_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    plain = open_stream("StdoutStream", {})
    plain.write(b"plain line\npartial", 42, "stdout")
    plain.close()
    fancy = open_stream("FancyStdoutStream", {"color": "green", "time_format": "%H:%M"})
    assert isinstance(fancy, FancyStdoutStream)
    fancy.write(b"fancy line\n", 42, "stderr")
    fancy.close()
    out = capfd.readouterr().out
    assert out.startswith("plain line\npartial\n")
    assert re.fullmatch(
        r"\x1b\[0;32;40m\d\d:\d\d \[42\] \| fancy line\x1b\[0m\n", out.split("partial\n", 1)[1]
    )


def test_writes_after_close_are_dropped_and_the_partial_line_is_kept(tmp_path: Path) -> None:
    stream = FileStream(str(tmp_path / "out.log"))
    stream.write(b"whole\nunfinished", 7, "stderr")
    stream.close()
    stream.write(b"too late\n", 7, "stderr")
    assert contents(tmp_path / "out.log") == "whole\nunfinished\n"


def test_a_failing_sink_is_reported_once_and_the_pump_keeps_draining(
    children: Children, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def broken(message: dict[str, Any]) -> None:
        calls.append(message)
        raise OSError(28, "No space left on device")

    stream = CallableStream(broken, label="broken")
    code = "import os\nfor n in range(20):\n    os.write(1, b'line %d\\n' % n)\n"
    proc, pump = children.pump(stream, code)
    pump.join(5)
    assert pump.ready() and proc.wait(timeout=5) == 0
    assert b"".join(m["data"] for m in calls) == b"".join(b"line %d\n" % n for n in range(20))
    errors = [r for r in caplog.records if "output dropped" in r.getMessage()]
    assert len(errors) == 1 and "No space left on device" in errors[0].getMessage()


# -- configuration ---------------------------------------------------------------------------------


def test_open_stream_converts_ini_strings(tmp_path: Path) -> None:
    log = str(tmp_path / "out.log")
    stream = open_stream("FileStream", {"filename": log, "max_bytes": "1024", "backup_count": "2"})
    assert isinstance(stream, FileStream) and (stream.max_bytes, stream.backup_count) == (1024, 2)
    stream.close()
    timed = open_stream(
        "circus.stream.TimedRotatingFileStream",
        {
            "filename": log,
            "rotate_when": "midnight",
            "utc": "false",
            "rotate_interval": "2",
            "refresh_time": "0.3",
        },
    )
    assert isinstance(timed, TimedRotatingFileStream)
    assert (timed.schedule.when, timed.schedule.interval, timed.schedule.utc) == ("MIDNIGHT", 2, False)
    timed.close()
    assert isinstance(open_stream("StdoutStream", {}), StdoutStream)
    assert isinstance(
        open_stream("circus_web_stack.runtime.streams.QueueStream", {"maxsize": "3"}), QueueStream
    )


def test_a_dotted_function_is_called_per_chunk(tmp_path: Path) -> None:
    stream = open_stream("logging.info", {})
    assert isinstance(stream, CallableStream) and stream.label == "logging.info"


def _config_cases(tmp: Path) -> list[tuple[str, dict[str, str], str, str]]:
    log = str(tmp / "out.log")
    return [
        (
            "FileStream",
            {"filename": log, "max_bytes": "ten"},
            "stdout_stream.max_bytes",
            "expected a whole number",
        ),
        ("FileStream", {"filename": log, "backup_count": "-1"}, "stdout_stream.backup_count", "0 or more"),
        (
            "FileStream",
            {"filename": log, "max_byte": "10"},
            "stdout_stream.max_byte",
            "did you mean 'max_bytes'",
        ),
        ("FileStream", {}, "stdout_stream.filename", "FileStream needs this option"),
        ("FileStream", {"filename": str(tmp / "no" / "dir.log")}, "stdout_stream.filename", "cannot open"),
        ("FileStreem", {}, "stdout_stream.class", "did you mean 'FileStream'"),
        ("no_such_module.Sink", {}, "stdout_stream.class", "cannot import 'no_such_module.Sink'"),
        ("os.path.no_such_thing", {}, "stdout_stream.class", "os.path has no attribute 'no_such_thing'"),
        ("os.sep", {}, "stdout_stream.class", "os.sep is a str, not a callable"),
        ("os.getcwd", {"x": "1"}, "stdout_stream.class", "takes no options; got x"),
        (f"{__name__}.SlowSink", {}, "stdout_stream.class", "SlowSink() failed: TypeError"),
        (
            "TimedRotatingFileStream",
            {"filename": log, "rotate_when": "X"},
            "stdout_stream.rotate_when",
            "midnight",
        ),
        ("TimedRotatingFileStream", {"filename": log, "utc": "maybe"}, "stdout_stream.utc", "true or false"),
        (
            "FileStream",
            {"filename": log, "time_format": "\udcff"},
            "stdout_stream.time_format",
            "not a strftime",
        ),
        ("FancyStdoutStream", {"color": "purple"}, "stdout_stream.color", "use one of red, green"),
        ("StdoutStream", {"time_format": "%H"}, "stdout_stream.time_format", "valid options: none"),
    ]


def test_bad_stream_configuration_is_refused_naming_the_option(tmp_path: Path) -> None:
    for class_name, options, option, message in _config_cases(tmp_path):
        with pytest.raises(ConfigError) as caught:
            open_stream(class_name, options, option_prefix="stdout_stream")
        assert caught.value.option == option, (class_name, options)
        assert message in str(caught.value), (class_name, options, str(caught.value))
        assert str(caught.value).startswith(option + ": ")
