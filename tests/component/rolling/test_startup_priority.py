"""A new process starts at a lower CPU priority (startup_nice) and gets circusd's back once it is ready;
children share circusd's session, each in a process group of its own."""

from __future__ import annotations

import os
import sys

import pytest

from circus_web_stack.runtime import priority
from circus_web_stack.testing.waiting import wait_until

PY = sys.executable

# Starts two threads before it is ready: one that keeps the nice value it inherits, one that picks its
# own (15). Says READY=1 once the file `go` exists.
PROGRAM = """
import os, pathlib, sys, threading, time
from chaussette_compat.notify import sd_notify

def own_nice():
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 15)
    time.sleep(1000)

threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
threading.Thread(target=own_nice, daemon=True).start()
go = pathlib.Path(sys.argv[1])
while not go.exists():
    time.sleep(0.01)
sd_notify("READY=1")
time.sleep(1000)
"""


def nice_of_threads(pid: int) -> list[int]:
    return sorted(os.getpriority(os.PRIO_PROCESS, int(tid)) for tid in os.listdir(f"/proc/{pid}/task"))


def start(circusd, tmp_path, options: str = ""):
    (tmp_path / "prog.py").write_text(PROGRAM)
    d = circusd(f"""
        [watcher:app]
        cmd = {PY} prog.py {tmp_path / "go"}
        working_dir = {tmp_path}
        readiness = notify
        ready_timeout = 30
        {options}
    """)
    (pid,) = [p.pid for p in d.wait_children(1)]
    wait_until(lambda: len(os.listdir(f"/proc/{pid}/task")) == 3, 10, "the program's threads")
    wait_until(lambda: 15 in nice_of_threads(pid), 10, "the thread that picks its own nice value")
    return d, pid


@pytest.mark.skipif(not priority.can_restore(), reason="needs CAP_SYS_NICE, as circusd does to apply it")
def test_a_new_process_runs_at_startup_nice_until_ready_then_at_circusds(circusd, tmp_path):
    d, pid = start(circusd, tmp_path, "startup_nice = 7")
    base = os.getpriority(os.PRIO_PROCESS, d.pid)
    assert nice_of_threads(pid) == [base + 7, base + 7, 15]
    (tmp_path / "go").touch()
    wait_until(lambda: nice_of_threads(pid) == [base, base, 15], 10, "circusd's priority back once ready")
    assert "ready after" in d.log()


@pytest.mark.skipif(not priority.can_restore(), reason="needs CAP_SYS_NICE, as circusd does to apply it")
def test_a_process_still_starting_after_a_second_gets_circusds_priority_anyway(circusd, tmp_path):
    # On a machine kept busy, a lowered process would barely run and a reload would drag on.
    d, pid = start(circusd, tmp_path, "startup_nice = 7")
    base = os.getpriority(os.PRIO_PROCESS, d.pid)
    wait_until(lambda: nice_of_threads(pid) == [base, base, 15], 5, "circusd's priority back after 1 s")
    assert "ready after" not in d.log()


def test_without_cap_sys_nice_or_with_0_nothing_is_lowered(circusd, tmp_path):
    options = "startup_nice = 0" if priority.can_restore() else ""
    d, pid = start(circusd, tmp_path, options)
    base = os.getpriority(os.PRIO_PROCESS, d.pid)
    assert nice_of_threads(pid) == [base, base, 15]
    if not priority.can_restore():
        assert "startup_nice is not applied: circusd lacks CAP_SYS_NICE" in d.log()


def test_a_process_ready_at_once_is_never_lowered(circusd, tmp_path):
    d = circusd("""
        [watcher:plain]
        cmd = sleep 1000
        readiness = alive
        warmup_delay = 0
    """)
    (child,) = d.wait_children(1)
    assert os.getpriority(os.PRIO_PROCESS, child.pid) == os.getpriority(os.PRIO_PROCESS, d.pid)


def test_children_share_circusds_session_each_in_its_own_process_group(circusd):
    # A session each would put every child in a CPU autogroup of its own, where nice values weigh nothing.
    d = circusd("""
        [watcher:plain]
        cmd = sleep 1000
        numprocesses = 2
    """)
    children = d.wait_children(2)
    for child in children:
        assert os.getsid(child.pid) == os.getsid(d.pid)
        assert os.getpgid(child.pid) == child.pid
