"""The counting behind /metrics, from events and readings, without a process: restarts and their
causes, flapping, reloads and their durations, command timings, slots across recycled workers."""

from __future__ import annotations

import pytest

from circus_web_stack.protocol import pubsub
from circus_web_stack.protocol.request_metrics import WorkerTotals
from circus_web_stack.runtime.metrics.histogram import Histogram
from circus_web_stack.runtime.metrics.ledgers import CommandMeter, EventLedger, restart_cause
from circus_web_stack.runtime.metrics.slots import GRACE_S, CpuSlots, RequestSlots


@pytest.mark.parametrize(
    ("exit_code", "cause"),
    [(3, ("exit", "3")), (0, ("exit", "0")), (-9, ("signal", "SIGKILL")), (-15, ("signal", "SIGTERM"))],
)
def test_restart_cause(exit_code, cause):
    assert restart_cause(exit_code) == cause


def test_only_exits_nobody_asked_for_are_restarts():
    ledger = EventLedger()
    ledger.apply("web", "reap", pubsub.reap_payload(10, 1.0, -9, wid=1, expected=False))
    ledger.apply("web", "reap", pubsub.reap_payload(11, 2.0, -9, wid=1, expected=False))
    ledger.apply("web", "reap", pubsub.reap_payload(12, 3.0, 3, wid=2, expected=False))
    ledger.apply("web", "reap", pubsub.reap_payload(13, 4.0, -15, wid=2, expected=True))  # we stopped it
    assert ledger.restarts == {("web", "1", "signal", "SIGKILL"): 2, ("web", "2", "exit", "3"): 1}


def test_flapping_pauses_and_give_ups():
    ledger = EventLedger()
    pause = pubsub.flapping_payload(1.0, attempts=2, window=1, retry_in=7, retries_left=1)
    give_up = pubsub.flapping_payload(9.0, attempts=2, window=1, retry_in=None, retries_left=0)
    for payload in (pause, pause, give_up):
        ledger.apply("web", "flapping", payload)
    assert ledger.flapping == {("web", "paused"): 2, ("web", "gave_up"): 1}


def test_a_reload_lasts_from_its_first_progress_event_to_done():
    ledger = EventLedger()
    ledger.apply("web", "reload", pubsub.reload_payload(100.0, old=2, new=1, ready=0, done=False))
    ledger.apply("web", "reload", pubsub.reload_payload(101.5, old=1, new=2, ready=1, done=False))
    ledger.apply("web", "reload", pubsub.reload_payload(103.0, old=0, new=2, ready=2, done=True))
    ledger.apply("web", "reload", pubsub.reload_payload(200.0, old=2, new=1, ready=0, done=False))
    ledger.apply("web", "reload", pubsub.reload_payload(210.0, rolled_back=True, reason="boom"))
    ledger.apply("web", "reload", pubsub.reload_payload(300.0))  # send_hup
    assert ledger.reloads == {("web", "done"): 1, ("web", "rolled_back"): 1, ("web", "hup"): 1}
    durations = ledger.reload_durations["web"]
    assert durations.count == 2 and durations.sum == pytest.approx(13.0)


def test_a_stop_interrupts_a_reload_and_the_next_one_times_afresh():
    ledger = EventLedger()
    ledger.apply("web", "reload", pubsub.reload_payload(100.0, old=2, new=1, ready=0, done=False))
    ledger.apply("web", "stop", pubsub.stop_payload(101.0))
    ledger.apply("web", "stop", pubsub.stop_payload(102.0))  # a stop without a reload counts nothing
    ledger.apply("web", "reload", pubsub.reload_payload(500.0, old=2, new=1, ready=0, done=False))
    ledger.apply("web", "reload", pubsub.reload_payload(502.0, old=0, new=2, ready=2, done=True))
    assert ledger.reloads == {("web", "interrupted"): 1, ("web", "done"): 1}
    assert ledger.reload_durations["web"].sum == pytest.approx(2.0)


def test_a_removed_watcher_takes_its_counts_with_it():
    ledger = EventLedger()
    ledger.apply("web", "reap", pubsub.reap_payload(10, 1.0, 1, wid=1, expected=False))
    ledger.apply("api", "reap", pubsub.reap_payload(11, 1.0, 1, wid=1, expected=False))
    ledger.apply("web", "remove", pubsub.remove_payload(2.0))
    assert ledger.restarts == {("api", "1", "exit", "1"): 1}


def test_a_copy_does_not_change_with_the_ledger():
    ledger = EventLedger()
    ledger.apply("web", "reload", pubsub.reload_payload(1.0, old=1, new=1, ready=1, done=True))
    copy = ledger.copy()
    ledger.apply("web", "reload", pubsub.reload_payload(2.0, old=1, new=1, ready=1, done=True))
    assert copy.reloads == {("web", "done"): 1} and copy.reload_durations["web"].count == 1


def test_commands_are_counted_by_outcome_with_their_latency():
    meter = CommandMeter()
    meter.observe("status", 0.0002, True)
    meter.observe("status", 0.003, False)
    meter.observe("reload", 12.0, True)
    status = meter.commands["status"]
    assert (status.ok, status.errors, status.latency.count) == (1, 1, 2)
    assert dict(status.latency.cumulative())[0.0005] == 1
    assert meter.copy().commands["reload"].latency.sum == 12.0


def test_histogram_buckets_are_cumulative_and_a_bound_is_inclusive():
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    assert histogram.cumulative() == [(0.1, 2), (1.0, 3), (float("inf"), 4)]
    assert histogram.plus((0.1, 1.0), [1, 0, 0], 0.01).cumulative()[0] == (0.1, 3)
    with pytest.raises(ValueError, match="different bounds"):
        histogram.plus((0.2, 1.0), [1, 0, 0], 0.01)


def test_a_slots_cpu_goes_on_from_the_process_before():
    cpu = CpuSlots()
    cpu.observe(("web", "1"), 100, 5.0)
    cpu.observe(("web", "1"), 100, 7.5)
    cpu.observe(("web", "1"), 200, 0.5)  # recycled or SIGKILLed: a new pid in the slot
    cpu.observe(("web", "2"), 300, 1.0)
    assert cpu.totals() == {("web", "1"): 8.0, ("web", "2"): 1.0}
    cpu.keep_watchers({"api"})
    assert cpu.totals() == {}


def _totals(ok: int, seconds: float, bounds: tuple[float, ...] = (0.1, 1.0)) -> WorkerTotals:
    return WorkerTotals({"2xx": ok}, bounds, (ok, 0, 0), seconds)


def test_a_slots_requests_include_its_past_workers_and_late_reports():
    slots = RequestSlots()
    slot = ("web", "1")
    slots.report(slot, 100, _totals(5, 0.5))
    slots.report(slot, 100, _totals(8, 0.8))  # totals, not increments
    slots.retire(100, now=10.0)
    slots.report(slot, 200, _totals(2, 0.2))
    slots.report(slots.slot_of(100), 100, _totals(9, 0.9))  # its last report, after its reap
    slots.expire(now=10.0 + GRACE_S)
    assert slots.slot_of(100) is None
    figures = slots.totals()[slot]
    assert figures.statuses == {"2xx": 11} and figures.latency.count == 11
    assert figures.latency.sum == pytest.approx(1.1)
    slots.forget_watcher("web")
    assert slots.totals() == {}


def test_a_worker_with_other_bounds_starts_its_slot_afresh():
    slots = RequestSlots()
    slots.report(("web", "1"), 100, _totals(5, 0.5))
    slots.retire(100, now=0.0)
    slots.expire(now=GRACE_S)
    slots.report(("web", "1"), 200, _totals(1, 0.1, bounds=(0.5, 2.0)))
    figures = slots.totals()[("web", "1")]
    assert figures.statuses == {"2xx": 1} and figures.latency.bounds == (0.5, 2.0)
