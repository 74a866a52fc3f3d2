"""Which pids belong to which watcher (listings and events), and which topics anyone subscribed to."""

from __future__ import annotations

from circus_web_stack.protocol.pubsub import Event
from circus_web_stack.runtime.stats.tracking import ProcessTracker, Subscriptions


def spawned(watcher: str, pid: int) -> Event:
    return Event(watcher, "spawn", {"process_pid": pid, "time": 1.0})


def reaped(watcher: str, pid: int) -> Event:
    return Event(watcher, "reap", {"process_pid": pid, "time": 1.0, "exit_code": 0})


def test_listing_then_events():
    tracker = ProcessTracker()
    names = tracker.set_watchers(["Web App", "worker", "circusd-stats"])
    assert names == ["Web App", "worker", "circusd-stats"]
    assert tracker.watchers() == ["Web App", "worker"]  # the helper is reported under stat.circus
    tracker.set_pids("Web App", [1, 2])
    tracker.set_pids("circusd-stats", [50])
    assert not tracker.apply(spawned("web_app", 3))  # events carry Circus's res_name
    assert tracker.pids["Web App"] == {1, 2, 3}
    assert not tracker.apply(reaped("web_app", 1))
    assert tracker.pids["Web App"] == {2, 3}
    assert tracker.helpers["circusd-stats"] == {50}
    assert tracker.all_pids() == {2, 3}


def test_unknown_watchers_and_additions_ask_for_a_resync():
    tracker = ProcessTracker()
    tracker.set_watchers(["web"])
    assert tracker.apply(spawned("api", 9))
    assert tracker.apply(Event("api", "add", {"time": 1.0}))
    assert not tracker.apply(Event("web", "stop", {"time": 1.0}))


def test_removed_watchers_and_vanished_pids_are_forgotten():
    tracker = ProcessTracker()
    tracker.set_watchers(["web", "api"])
    tracker.set_pids("web", [1, 2])
    tracker.set_pids("api", [3])
    tracker.apply(Event("api", "remove", {"time": 1.0}))
    assert tracker.watchers() == ["web"]
    tracker.drop_pid(2)  # /proc no longer has it: a reap we missed
    assert tracker.pids == {"web": {1}}
    tracker.set_watchers(["api"])  # a resync replaces everything
    assert tracker.pids == {"api": set()}


def test_malformed_events_change_nothing():
    tracker = ProcessTracker()
    tracker.set_watchers(["web"])
    assert not tracker.apply(Event("web", "spawn", {"process_pid": "x"}))
    assert tracker.pids == {"web": set()}


def test_subscriptions_are_counted_per_subscriber():
    subs = Subscriptions()
    assert not subs and not subs.wants("web")
    subs.apply(b"\x01stat.")
    subs.apply(b"\x01stat.")
    subs.apply(b"\x00stat.")
    assert subs.wants("web") and subs.wants_circus() and subs.wants_sockets()
    subs.apply(b"\x00stat.")
    assert not subs
    subs.apply(b"\x00stat.")  # an unsubscribe we never counted: harmless
    assert not subs


def test_what_a_subscription_covers():
    subs = Subscriptions()
    subs.apply(b"\x01stat.web")  # a prefix: stat.web, stat.web.<pid>, and stat.webapp
    assert subs.wants("web") and subs.wants("webapp") and not subs.wants("api")
    assert not subs.wants_circus()
    only_one = Subscriptions()
    only_one.apply(b"\x01stat.api.4121")
    assert only_one.wants("api") and not only_one.wants("web")
    everything = Subscriptions()
    everything.apply(b"\x01")  # circusctl-style "" subscribes to all
    assert everything.wants("anything") and everything.wants_sockets()
