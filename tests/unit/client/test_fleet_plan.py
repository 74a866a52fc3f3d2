"""Rolling deploys decided without a process: batch sizes, batches, what runs next, the report."""

from __future__ import annotations

import pytest

from circus_web_stack.client.fleet_plan import (
    BatchSize,
    Outcome,
    next_batch,
    parse_batch_size,
    plan_batches,
    rollout_report,
)

NODES = ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("text", "batches"),
    [
        ("1", [("a",), ("b",), ("c",), ("d",), ("e",)]),
        ("2", [("a", "b"), ("c", "d"), ("e",)]),
        ("9", [tuple(NODES)]),
        ("25%", [("a", "b"), ("c", "d"), ("e",)]),  # 1.25 rounds up to 2
        ("20%", [("a",), ("b",), ("c",), ("d",), ("e",)]),
        ("1%", [("a",), ("b",), ("c",), ("d",), ("e",)]),  # at least one
        ("100%", [tuple(NODES)]),
    ],
)
def test_batches(text, batches):
    assert plan_batches(NODES, parse_batch_size(text)) == tuple(batches)


@pytest.mark.parametrize("text", ["0", "-1", "0%", "101%", "half", "", "2.5"])
def test_bad_batch_sizes_say_what_is_valid(text):
    with pytest.raises(ValueError, match=r"a number of nodes .* or a percentage"):
        parse_batch_size(text)


BATCHES = plan_batches(NODES, BatchSize(count=2))
OK = {n: Outcome(n, True) for n in NODES}


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        ({}, ("a", "b")),
        ({"a": OK["a"]}, ("b",)),
        ({"a": OK["a"], "b": OK["b"]}, ("c", "d")),
        ({"a": OK["a"], "b": Outcome("b", False, "rolled back")}, None),
        ({n: OK[n] for n in NODES}, None),
    ],
)
def test_next_batch_runs_only_after_every_earlier_node_succeeded(done, expected):
    assert next_batch(BATCHES, done) == expected


def test_the_report_names_the_failure_and_the_untouched_nodes():
    outcomes = {"a": OK["a"], "b": OK["b"], "c": Outcome("c", False, "error: rolled back"), "d": OK["d"]}
    report = rollout_report(BATCHES, outcomes)
    assert (report.done, report.untouched, report.batches_run, report.batches) == (
        ("a", "b", "d"),
        ("e",),
        2,
        3,
    )
    assert not report.ok
    assert report.summary("web").splitlines() == [
        "reload web: stopped in batch 2/3: c failed: error: rolled back",
        "  reloaded: a, b, d",
        "  not touched (old code): e",
    ]
    assert rollout_report(BATCHES, OK).summary("web") == "reload web: done on 5 node(s) in 3 batch(es)"
