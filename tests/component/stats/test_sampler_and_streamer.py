"""The sampler against psutil on real processes, and circusd-stats' streamer run in this process against
a real daemon: it samples only what is subscribed to, heals missed events, and forgets dead processes."""

from __future__ import annotations

import os
import subprocess
import time

import psutil
import pytest

from circus_web_stack.client.daemon import CircusClient
from circus_web_stack.protocol.pubsub import Event
from circus_web_stack.runtime.sampling import Sampler
from circus_web_stack.runtime.stats.streamer import StatsStreamer
from circus_web_stack.testing.waiting import wait_until

from .conftest import StatsCollector


@pytest.fixture
def sleepers():
    procs = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    # Asleep in nanosleep: done loading, so its memory no longer moves under the comparison.
    for proc in procs:
        wait_until(lambda p=proc: psutil.Process(p.pid).status() == psutil.STATUS_SLEEPING, 5, "sleep asleep")
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def test_samples_agree_with_psutil(sleepers):
    sampler = Sampler()
    pids = [p.pid for p in sleepers]
    samples = sampler.read(pids)
    for pid in pids:
        theirs = psutil.Process(pid)
        ours = samples[pid]
        assert ours.rss_bytes == pytest.approx(theirs.memory_info().rss, rel=0.01)
        assert ours.vms_bytes == pytest.approx(theirs.memory_info().vms, rel=0.01)
        assert ours.create_time == pytest.approx(theirs.create_time(), abs=0.01)
        assert (ours.username, ours.nice, list(ours.argv)) == (
            theirs.username(),
            theirs.nice(),
            theirs.cmdline(),
        )
        assert ours.cpu_seconds == pytest.approx(sum(theirs.cpu_times()[:2]), abs=0.05)


def test_children_are_found_and_dead_processes_forgotten(tmp_path):
    parent = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 61 & wait"], start_new_session=True)
    try:
        kids = wait_until(
            lambda: (lambda c: c if len(c) == 2 else None)(psutil.Process(parent.pid).children()), 5
        )
        sampler = Sampler()
        sample = sampler.read([parent.pid])[parent.pid]
        assert sorted(c.pid for c in sample.children) == sorted(k.pid for k in kids)
        assert len(sampler) == 3
        for kid in kids:  # the shell reaps them, then exits; we reap the shell
            kid.kill()
        parent.wait(5)
        wait_until(lambda: not any(psutil.pid_exists(k.pid) for k in kids), 5, "the children reaped")
        gone = sampler.read([parent.pid], with_children=False)[parent.pid]
        assert gone.create_time is None and gone.rss_bytes is None  # N/A in the payload
        sampler.read([k.pid for k in kids], with_children=False)
        assert len(sampler) == 0
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, 9)
            parent.wait()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_kept_open_files_follow_their_process_and_are_closed(sleepers):
    before = open_fds()
    sampler = Sampler(keep_open=True)
    pids = [p.pid for p in sleepers]
    first = sampler.read(pids, with_children=False)
    assert open_fds() == before + 2 * len(pids)
    second = sampler.read(pids, with_children=False)
    for pid in pids:
        assert second[pid].rss_bytes == first[pid].rss_bytes
        assert second[pid].cpu_percent == 0.0  # over the interval, not the lifetime average
    sleepers[0].kill()
    sleepers[0].wait()  # reaped: its pinned files now fail, whatever process gets the pid next
    assert sampler.read(pids, with_children=False)[pids[0]].create_time is None
    assert len(sampler) == 2 and open_fds() == before + 4
    sampler.close()
    assert len(sampler) == 0 and open_fds() == before


@pytest.fixture
def streamer(circusd, tmp_path):
    daemon = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 2
    """)
    daemon.wait_children(2)
    client = CircusClient(daemon.endpoint, timeout=5)
    stats = f"ipc://{tmp_path / 'stats.sock'}"
    streamer = StatsStreamer(client.call_ok, daemon.pubsub_endpoint, stats, interval_s=0.2)
    yield daemon, streamer, stats
    streamer.close()
    client.close()


def test_nothing_is_sampled_until_someone_subscribes(streamer):
    daemon, streamer, endpoint = streamer
    assert streamer.resync()
    assert streamer.tracker.pids["web"] == set(daemon.call("list", name="web")["pids"])
    assert streamer.publish_once() == 0 and len(streamer.sampler) == 0
    collector = StatsCollector(endpoint, "stat.web")
    try:
        wait_until(
            lambda: (streamer.step(0.05), streamer.subscriptions.wants("web"))[1], 5, "the subscription"
        )
        assert not streamer.subscriptions.wants_circus()  # only what was asked for
        assert streamer.publish_once() == 3  # two processes and the watcher's totals
        wait_until(lambda: len(collector.snapshot()) == 3, 5, "the three messages")
    finally:
        collector.close()
    wait_until(lambda: (streamer.step(0.05), not streamer.subscriptions)[1], 5, "the unsubscription")
    assert streamer.publish_once() == 0


def test_events_keep_the_pids_and_a_resync_heals_a_missed_one(streamer):
    daemon, streamer, endpoint = streamer
    streamer.resync()
    first = set(streamer.tracker.pids["web"])
    assert daemon.call("incr", name="web", waiting=True)["status"] == "ok"
    wait_until(lambda: (streamer.step(0.05), len(streamer.tracker.pids["web"]) == 3)[1], 5, "the spawn event")
    (new,) = streamer.tracker.pids["web"] - first
    streamer.tracker.drop_pid(new)  # as if the spawn event had been lost
    assert streamer.resync() and new in streamer.tracker.pids["web"]
    streamer.tracker.apply(Event("web", "spawn", {"process_pid": 999999, "time": 1.0}))  # a stale pid
    collector = StatsCollector(endpoint, "stat.")
    try:
        wait_until(lambda: (streamer.step(0.05), bool(streamer.subscriptions))[1], 5, "the subscription")
        streamer.publish_once()
        assert 999999 not in streamer.tracker.pids["web"]  # /proc had no such process: dropped
    finally:
        collector.close()


def test_reaped_processes_leave_the_caches(streamer):
    daemon, streamer, endpoint = streamer
    streamer.resync()
    collector = StatsCollector(endpoint, "stat.")
    try:
        wait_until(lambda: (streamer.step(0.05), bool(streamer.subscriptions))[1], 5, "the subscription")
        streamer.publish_once()
        sampled = len(streamer.sampler)
        assert sampled >= 3  # two workers, the daemon and this process
        assert daemon.call("decr", name="web", nb=2, waiting=True)["status"] == "ok"
        deadline = time.monotonic() + 10
        while streamer.tracker.pids["web"] and time.monotonic() < deadline:
            streamer.step(0.05)
        assert not streamer.tracker.pids["web"]
        streamer.publish_once()
        assert len(streamer.sampler) == sampled - 2
    finally:
        collector.close()
