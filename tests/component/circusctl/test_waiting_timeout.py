"""A command sent with --waiting gets a long default timeout: a rolling reload outlasts Circus's 5 s."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest


@pytest.mark.slow
def test_a_reload_longer_than_five_seconds_needs_no_timeout_flag(circusd):
    d = circusd("""
        [watcher:slowstart]
        cmd = sleep 1000
        readiness = alive
        warmup_delay = 6
    """)
    d.wait_children(1)
    d.wait_log("slowstart started", 20)
    t0 = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "circus_web_stack.cli.circusctl",
            "--endpoint",
            d.endpoint,
            "reload",
            "slowstart",
            "--waiting",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - t0 > 5.5
