"""A changed stdout_stream goes with the new generation: the processes being replaced keep writing
where they wrote (their last lines included) until they exit, the new ones write to the new stream,
and a reload rolled back puts the old stream back for everything started after it."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from circus_web_stack.testing.waiting import wait_until

PY = sys.executable
# A line every 20 ms; on SIGTERM, 0.3 s more of lines and a last "bye", as a draining worker logs.
TALKER = """
import os, signal, sys, time
stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(time.monotonic()))
pid = os.getpid()
while not stopping or time.monotonic() - stopping[0] < 0.3:
    print(f"line {pid}", flush=True)
    time.sleep(0.02)
print(f"bye {pid}", flush=True)
"""


def pids_in(log: Path, word: str) -> set[int]:
    text = log.read_text() if log.exists() else ""
    return {int(pid) for pid in re.findall(rf"^{word} (\d+)$", text, re.MULTILINE)}


def start(circusd, tmp_path: Path):
    (tmp_path / "talker.py").write_text(TALKER)
    first = tmp_path / "first.log"
    d = circusd(f"""
        [watcher:talker]
        cmd = {PY} {tmp_path / "talker.py"}
        warmup_delay = 0.2
        graceful_timeout = 5
        stdout_stream.class = FileStream
        stdout_stream.filename = {first}
    """)
    wait_until(lambda: pids_in(first, "line"), 10, "the first process writing to first.log")
    return d, first, tmp_path / "second.log"


def test_the_replaced_processes_finish_writing_to_the_old_stream(circusd, tmp_path):
    d, first, second = start(circusd, tmp_path)
    (old,) = d.call("list", name="talker")["pids"]
    t0 = time.monotonic()
    reply = d.call("set", name="talker", options={"stdout_stream.filename": str(second)}, waiting=True)
    took = time.monotonic() - t0
    assert reply["status"] == "ok", reply
    (new,) = d.call("list", name="talker")["pids"]
    assert new != old
    wait_until(lambda: new in pids_in(second, "line"), 10, "the new process writing to second.log")
    assert old in pids_in(first, "bye"), "the old process's last line was lost"
    assert pids_in(second, "line") == {new}
    assert new not in pids_in(first, "line")
    assert took < 3.0, f"the change took {took:.1f}s"  # it used to wait 5 s for the old pumps to end
    assert "Traceback" not in d.log()


def test_a_rolled_back_reload_puts_the_old_stream_back(circusd, tmp_path):
    d, first, second = start(circusd, tmp_path)
    (old,) = d.call("list", name="talker")["pids"]
    broken = {"stdout_stream.filename": str(second), "cmd": f"{PY} -c 'raise SystemExit(3)'"}
    reply = d.call("set", name="talker", options=broken, waiting=True)
    assert reply["status"] == "error" and "rolled back" in reply["reason"], reply
    assert d.call("list", name="talker")["pids"] == [old]
    written = first.stat().st_size
    wait_until(lambda: first.stat().st_size > written, 5, "the old process still writing to first.log")
    d.call("kill", name="talker", pid=old, waiting=True)  # its replacement runs the old config again
    wait_until(lambda: pids_in(first, "line") - {old}, 10, "the replacement writing to first.log")
    assert old in pids_in(first, "bye")
    assert not pids_in(second, "line")


def test_a_stream_that_cannot_open_changes_nothing(circusd, tmp_path):
    d, first, _ = start(circusd, tmp_path)
    (old,) = d.call("list", name="talker")["pids"]
    missing = tmp_path / "no" / "such" / "dir.log"
    reply = d.call("set", name="talker", options={"stdout_stream.filename": str(missing)}, waiting=True)
    assert reply["status"] == "error" and "cannot open" in reply["reason"], reply
    assert d.call("list", name="talker")["pids"] == [old]
    stream = d.call("get", name="talker", keys=["stdout_stream"])["options"]["stdout_stream"]
    assert stream == {"class": "FileStream", "filename": str(first)}
    written = first.stat().st_size
    wait_until(lambda: first.stat().st_size > written, 5, "the process still writing to first.log")
