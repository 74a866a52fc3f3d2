"""The event stream: Circus's topics and payloads, plus reap for every exit and flapping."""

from __future__ import annotations

import pytest

from circus_web_stack.testing.events import EventCollector


@pytest.fixture
def watched(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        graceful_timeout = 2
        [watcher:crashy]
        cmd = false
        autostart = false
        flapping.attempts = 2
        flapping.window = 5
        flapping.retry_in = 30
    """)
    d.wait_children(1)
    collector = EventCollector(d.pubsub_endpoint)
    timeouts = iter(range(100, 200))
    collector.wait_subscribed(
        lambda: d.call("set", name="web", options={"graceful_timeout": next(timeouts)}, waiting=True),
        "web",
        "updated",
    )
    yield d, collector
    collector.close()


def test_spawn_kill_and_reap_for_exits_the_daemon_caused(watched):
    d, events = watched
    assert d.call("incr", name="web", waiting=True)["status"] == "ok"
    (spawn,) = events.wait_for(
        lambda ev: [e for e in ev if e.watcher == "web" and e.name == "spawn"], 5, "spawn"
    )
    assert {"process_pid", "time"} <= set(spawn.payload)  # Circus's keys; ours (wid) are additions
    assert d.call("decr", name="web", waiting=True)["status"] == "ok"
    kill = events.wait_for(lambda ev: [e for e in ev if e.name == "kill"], 5, "kill")[0]
    # Circus never publishes reap for processes it stopped itself; we do, with the exit code.
    reap = events.wait_for(lambda ev: [e for e in ev if e.name == "reap"], 10, "reap")[0]
    assert reap.payload["process_pid"] == kill.payload["process_pid"]
    assert reap.payload["exit_code"] == -15
    assert {"process_pid", "time", "exit_code"} <= set(reap.payload)
    assert reap.payload["expected"] is True  # ours: the daemon asked it to stop


def test_start_stop_add_remove_events(watched):
    d, events = watched
    d.call("add", name="extra", cmd="sleep 1003", start=True, waiting=True)
    d.call("stop", name="extra", waiting=True)
    d.call("rm", name="extra", waiting=True)
    names = events.wait_for(
        lambda ev: (lambda n: n if n[-1:] == ["remove"] else None)(
            [e.name for e in ev if e.watcher == "extra"]
        ),
        10,
        "extra's events",
    )
    assert names[0] == "add" and "start" in names and "stop" in names and names[-1] == "remove"
    assert names.index("spawn") < names.index("start") < names.index("stop")


def test_flapping_is_an_event(watched):
    d, events = watched
    d.call("start", name="crashy")
    (flap,) = events.wait_for(lambda ev: [e for e in ev if e.name == "flapping"], 10, "flapping")
    assert flap.watcher == "crashy"
    assert flap.payload["retry_in"] == 30.0 and flap.payload["pause"] == 1
    assert len(events.named("crashy", "reap")) == 2
