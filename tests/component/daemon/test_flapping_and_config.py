"""Flapping watchers pause and give up without a busy loop; bad configs are refused before anything runs."""

from __future__ import annotations

import signal

from circus_web_stack.testing.waiting import wait_until


def test_flapping_watcher_pauses_then_stops(circusd):
    d = circusd("""
        [watcher:crashy]
        cmd = false
        flapping.attempts = 2
        flapping.window = 1
        flapping.retry_in = 0.3
        flapping.max_retry = 2
        [watcher:steady]
        cmd = sleep 1000
    """)
    d.wait_log(r"crashy is flapping: 2 exits within 1s; pausing 0.3s \(pause 1, 1 retries left\)")
    d.wait_log(r"crashy: giving up: still flapping after 2 pause\(s\)")
    d.wait_log(r"crashy stopped")
    spawned = d.log().count("spawned crashy")
    assert spawned == 6  # two exits per round, three rounds
    assert d.children("sleep"), "the other watcher keeps running"


def test_missing_command_with_unlimited_retries_is_no_busy_loop(circusd):
    d = circusd("""
        [watcher:ghost]
        cmd = /nonexistent/program --flag
        max_retry = -1
        flapping.retry_in = 0.5
        [watcher:steady]
        cmd = sleep 1000
    """)
    d.wait_log(
        r"ghost#1: cannot spawn '/nonexistent/program --flag': command not found: '/nonexistent/program'"
    )
    d.wait_children(1, "sleep")
    wait_until(lambda: d.log().count("ghost is flapping") >= 2, 5, "two flapping pauses")
    attempts = d.log().count("cannot spawn")
    assert attempts <= 8, f"{attempts} spawn attempts in ~1 s is a busy loop"
    d.signal(signal.SIGTERM)
    assert d.wait_exit(20) == 0


def test_bad_config_is_refused_with_file_line_and_suggestion(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocess = 3
    """)
    assert d.wait_exit(20) == 78
    err = d.stderr()
    assert "circus.ini:4 [watcher:web] numprocess: unknown option (did you mean 'numprocesses'?)" in err
    assert d.children() == []


def test_bad_value_names_what_is_valid(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = four
    """)
    assert d.wait_exit(20) == 78
    assert "circus.ini:4 [watcher:web] numprocesses" in d.stderr()
    assert "four" in d.stderr()


def test_sighup_reloads_the_config_and_applies_the_difference(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
        [watcher:keep]
        cmd = sleep 1001
    """)
    d.wait_children(3)
    kept = {k.pid for k in d.children("1001")}
    d.ini_path.write_text("""
[watcher:web]
cmd = sleep 1000
numprocesses = 4
[watcher:keep]
cmd = sleep 1001
[watcher:added]
cmd = sleep 1002
""")
    d.signal(signal.SIGHUP)
    d.wait_children(4, "sleep 1000")
    d.wait_children(1, "sleep 1002")
    assert {k.pid for k in d.children("1001")} == kept


def test_sighup_with_a_broken_config_changes_nothing(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
    """)
    before = {k.pid for k in d.wait_children(2)}
    d.ini_path.write_text("[watcher:web]\ncmd = sleep 1000\nnumprocesses = -5\n")
    d.signal(signal.SIGHUP)
    d.wait_log(r"reloadconfig refused: the new configuration is invalid, nothing changed: .*numprocesses")
    assert {k.pid for k in d.children()} == before
