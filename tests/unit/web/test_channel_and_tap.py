"""The broadcast ring and the output tap's line cutting and rate limit: no sockets."""

from __future__ import annotations

import json

import pytest

from circus_web_stack.core.line_budget import LineBudget
from circus_web_stack.protocol.pubsub import OUTPUT_TOPIC_PREFIX, parse_output_topic
from circus_web_stack.runtime import output_tap
from circus_web_stack.runtime.output_tap import OutputLines
from circus_web_stack.web.channel import Channel


def test_channel_replays_what_followed_a_seen_number():
    channel = Channel(ring=3)
    for n in range(3):
        channel.publish("tick", {"n": n})
    assert channel.since(3) == []
    (frame,) = channel.since(2)
    assert frame.startswith(f"id: {channel.epoch}-3\nevent: tick\ndata: ".encode())
    assert json.loads(frame.split(b"data: ")[1]) == {"n": 2}
    assert len(channel.since(0)) == 3


def test_channel_says_reset_when_the_ring_forgot():
    channel = Channel(ring=2)
    for n in range(5):
        channel.publish("tick", {"n": n})
    assert channel.since(1) is None
    follow = channel.follow(f"{channel.epoch}-1")
    assert next(follow).startswith(b"retry:")
    assert b"event: reset" in next(follow)


def test_channel_resumes_after_an_id_of_its_own_run_only():
    channel = Channel()
    channel.publish("tick", {"n": 1})
    channel.publish("tick", {"n": 2})
    resumed = channel.follow(f"{channel.epoch}-1")
    next(resumed)
    assert b'"n":2' in next(resumed) and b'"n":1' not in next(channel.follow(f"{channel.epoch}-1"))
    other_run = channel.follow("00000000-1")
    next(other_run)
    assert b"event: reset" in next(other_run)
    with pytest.raises(ValueError, match="EPOCH-NUMBER"):
        next(channel.follow("42"))


def test_line_budget_refills_and_counts_what_it_refused():
    budget = LineBudget(lines_per_s=10, burst=5)
    assert budget.take(8, now=0.0) == 5
    assert budget.dropped == 3
    assert budget.take(8, now=0.2) == 2
    assert budget.take(1, now=10.0) == 1


def collect(clock=lambda: 0.0):
    sent: list[tuple[str, dict]] = []
    return sent, OutputLines(lambda topic, payload: sent.append((topic, payload)), clock)


def test_lines_are_published_whole_across_reads():
    sent, lines = collect()
    lines.feed("Web App", 7, "stdout", b"one\ntw")
    lines.feed("Web App", 7, "stdout", b"o\n<b>three</b>")
    lines.finish("Web App", 7, "stdout")
    assert [p["lines"] for _, p in sent] == [["one"], ["two"], ["<b>three</b>"]]
    assert {topic for topic, _ in sent} == {"output.web_app.stdout"}
    assert parse_output_topic(sent[0][0]) == ("web_app", "stdout")
    assert not sent[0][0].startswith("watcher.") and sent[0][0].startswith(OUTPUT_TOPIC_PREFIX)


def test_a_long_line_is_cut_and_an_endless_one_does_not_grow():
    sent, lines = collect()
    lines.feed("w", 1, "stderr", b"x" * (output_tap.MAX_PENDING_BYTES + 10))
    (payload,) = [p for _, p in sent]
    assert len(payload["lines"][0]) == output_tap.MAX_LINE_CHARS


def test_a_chatty_watcher_is_cut_to_its_budget_and_told_what_it_lost():
    now = [0.0]
    sent, lines = collect(lambda: now[0])
    flood = b"line\n" * (output_tap.BURST_LINES + 50)
    lines.feed("w", 1, "stdout", flood)
    assert len(sent[0][1]["lines"]) == output_tap.BURST_LINES
    lines.feed("w", 1, "stdout", b"refused\n")
    assert len(sent) == 1
    now[0] = 1.0
    lines.feed("w", 1, "stdout", b"after\n")
    assert sent[-1][1]["dropped"] == 51
    assert sent[-1][1]["lines"] == ["after"]


def test_nothing_is_cut_or_sent_while_nobody_asked():
    sent: list[tuple[str, dict]] = []
    wanted = [False]
    lines = OutputLines(lambda topic, payload: sent.append((topic, payload)), wanted=lambda: wanted[0])
    lines.feed("w", 1, "stdout", b"unheard\nhalf a li")
    wanted[0] = True
    lines.feed("w", 1, "stdout", b"heard\n")
    assert [p["lines"] for _, p in sent] == [["heard"]]


def test_subscriptions_asked_for_counts_names_not_everything():
    from circus_web_stack.runtime.stats.tracking import Subscriptions

    subscriptions = Subscriptions()
    subscriptions.apply(b"\x01")
    subscriptions.apply(b"\x01watcher.")
    assert not subscriptions.asked_for("output.")
    subscriptions.apply(b"\x01output.web.")
    assert subscriptions.asked_for("output.")
    subscriptions.apply(b"\x00output.web.")
    assert not subscriptions.asked_for("output.")
