"""The stats stream of a real daemon with `statsd = true`: circusd-stats as a watcher, Circus's topics
and payloads with our numbers, processes coming and going, and `stats`/`dstats` agreeing with it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

from circus_web_stack.runtime.sockets import accepts_connections
from circus_web_stack.testing.waiting import wait_until

from .conftest import stats_endpoint

CIRCUS_PROCESS_FIELDS = {
    "mem_info1",
    "mem_info2",
    "cpu",
    "mem",
    "ctime",
    "pid",
    "username",
    "nice",
    "create_time",
    "age",
    "cmdline",
    "children",
    "subtopic",
    "name",
}

INI = """
    [circus]
    statsd = true
    stats_interval = 0.3
    [socket:web]
    host = 127.0.0.1
    port = 0
    [watcher:web]
    cmd = sleep 1000
    numprocesses = 2
    graceful_timeout = 2
"""


@pytest.fixture
def daemon(circusd):
    d = circusd(INI)
    d.wait_children(3)
    return d


def pids(daemon, name: str) -> list[int]:
    return daemon.call("list", name=name)["pids"]


def test_statsd_runs_circusd_stats_as_a_singleton_watcher(daemon):
    assert "circusd-stats" in daemon.call("list")["watchers"]
    (pid,) = pids(daemon, "circusd-stats")
    argv = psutil.Process(pid).cmdline()
    assert "circus_web_stack.cli.circusd_stats" in argv
    assert argv[argv.index("--statspoint") + 1] == stats_endpoint(daemon)
    assert argv[argv.index("--interval") + 1] == "0.3"
    options = daemon.call("options", name="circusd-stats")["options"]
    assert options["singleton"] is True and options["use_sockets"] is False


def test_topics_and_payloads(daemon, collect):
    stream = collect(stats_endpoint(daemon))
    web = pids(daemon, "web")
    for pid in web:
        info = stream.wait_topic(f"stat.web.{pid}")
        assert set(info) >= CIRCUS_PROCESS_FIELDS
        assert (info["pid"], info["subtopic"], info["name"], info["cmdline"]) == (pid, pid, None, "sleep")
        assert (
            info["rss_bytes"] > 0
            and isinstance(info["cpu"], float)
            and info["mem_info1"].endswith(("K", "M"))
        )
    total = stream.wait_topic("stat.web", check=lambda p: sorted(p["pid"]) == sorted(web))
    assert {"cpu", "mem", "age", "rss_bytes", "cpu_total", "processes"} <= set(total)
    assert total["processes"] == 2
    circusd = stream.wait_topic(f"stat.circus.{daemon.pid}")
    assert circusd["name"] == "circusd" and circusd["children"] == []
    (stats_pid,) = pids(daemon, "circusd-stats")
    assert stream.wait_topic(f"stat.circus.{stats_pid}")["name"] == "circusd-stats"
    assert "stat.circusd-stats" not in {m.topic for m in stream.snapshot()}  # a helper, not a watcher
    (sock,) = daemon.call("listsockets")["sockets"]
    payload = stream.wait_topic(f"stat.sockets.{sock['fd']}")
    assert payload["address"] == f"127.0.0.1:{sock['port']}" and payload["name"] == "web"
    assert payload["queue"] == 0 and payload["backlog"] > 0 and payload["reads"] == 0
    assert stream.wait_topic("stat.sockets")["addresses"] == [payload["address"]]


def test_processes_that_come_and_go(daemon, collect):
    stream = collect(stats_endpoint(daemon))
    stream.wait_topic("stat.web")
    assert daemon.call("incr", name="web", waiting=True)["status"] == "ok"
    new = wait_until(lambda: (lambda p: p if len(p) == 3 else None)(pids(daemon, "web")), 5, "3 pids")
    for pid in new:
        stream.wait_topic(f"stat.web.{pid}")
    victim = new[0]
    assert daemon.call("kill", name="web", pid=victim, waiting=True)["status"] == "ok"
    wait_until(lambda: victim not in pids(daemon, "web"), 5, "the reap")
    since = time.monotonic()
    stream.wait_topic("stat.web", since=since + 0.7, check=lambda p: victim not in p["pid"])
    assert f"stat.web.{victim}" not in {m.topic for m in stream.snapshot(since + 0.7)}


def test_stats_and_dstats_give_the_streams_figures(daemon, collect):
    stream = collect(stats_endpoint(daemon))
    pid = pids(daemon, "web")[0]
    streamed = stream.wait_topic(f"stat.web.{pid}")
    answered = daemon.call("stats", name="web")["info"][str(pid)]
    for key in ("rss_bytes", "vms_bytes", "mem_info1", "mem", "create_time", "username", "cmdline", "nice"):
        assert answered[key] == streamed[key], key
    assert answered["cpu"] == streamed["cpu"] == 0.0
    own = daemon.call("dstats")["info"]
    from_stream = stream.wait_topic(f"stat.circus.{daemon.pid}")
    assert own["pid"] == from_stream["pid"] and own["create_time"] == from_stream["create_time"]
    assert own["rss_bytes"] == pytest.approx(from_stream["rss_bytes"], rel=0.1)


@pytest.mark.slow
def test_circusd_stats_runs_by_hand_and_ends_with_its_daemon(circusd, collect, tmp_path):
    daemon = circusd("""
        [watcher:web]
        cmd = sleep 1000
    """)
    daemon.wait_children(1)
    endpoint = f"ipc://{tmp_path / 'by-hand.sock'}"
    command = [
        sys.executable,
        "-m",
        "circus_web_stack.cli.circusd_stats",
        "--endpoint",
        daemon.endpoint,
        "--pubsub",
        daemon.pubsub_endpoint,
        "--statspoint",
        endpoint,
        "--interval",
        "0.2",
    ]
    stats = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        stream = collect(endpoint)
        (pid,) = pids(daemon, "web")
        assert stream.wait_topic(f"stat.web.{pid}")["cmdline"] == "sleep"
        daemon.signal(signal.SIGKILL)
        daemon.wait_exit(10)
        orphan = psutil.Process(pid)  # the worker outlives a SIGKILLed daemon: ours to clean up
        orphan.kill()
        wait_until(lambda: not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE, 5, "the kill")
        assert stats.wait(15) == 69  # EXIT_DAEMON_GONE
        assert f"circusd (pid {daemon.pid}) is gone" in stats.stderr.read()
    finally:
        if stats.poll() is None:
            stats.kill()
            stats.wait()


def test_a_second_circusd_stats_on_a_live_endpoint_is_refused(daemon):
    # The daemon's own circusd-stats must hold the endpoint first, or the second one would bind it.
    wait_until(lambda: accepts_connections(str(daemon.runtime_dir / "stats.sock")), 15, "the stats endpoint")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "circus_web_stack.cli.circusd_stats",
            "--endpoint",
            daemon.endpoint,
            "--pubsub",
            daemon.pubsub_endpoint,
            "--statspoint",
            stats_endpoint(daemon),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 71  # EXIT_BIND
    assert f"cannot bind the stats endpoint {stats_endpoint(daemon)}" in done.stderr
    assert "already in use" in done.stderr
