"""[plugin:flapping] configures the flapping built into every watcher (no process runs for it), and a
watcher stopped by hand while it flaps stays stopped (Circus's plugin started it again: circus#965)."""

from __future__ import annotations

import time


def test_plugin_flapping_sets_the_defaults_and_never_fights_a_stop(circusd):
    d = circusd("""
        [watcher:crashy]
        cmd = false
        numprocesses = 3
        [plugin:flapping]
        use = circus.plugins.flapping.Flapping
        attempts = 2
        window = 1
        retry_in = 1.0
        max_retry = -1
    """)
    d.wait_log(r"crashy is flapping: 2 exits within 1s; pausing 1s")
    assert "plugin:flapping" not in d.call("list")["watchers"]  # built in: nothing to run
    assert d.call("options", name="crashy")["options"]["flapping.retry_in"] == 1.0
    d.call("stop", name="crashy", waiting=True)
    spawned = d.log().count("spawned crashy")
    # Watch for twice retry_in: the pause ends meanwhile, and the stop must hold through it.
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        assert d.call("status", name="crashy")["status"] == "stopped"
        assert d.log().count("spawned crashy") == spawned
        time.sleep(0.1)  # the observation window's pace; nothing waits on it
