"""LoopTurns on a real gevent hub: a greenlet that never blocks lets a greenlet waiting on I/O run
once the turn is older than the slice, and pays nothing while it is young."""

from __future__ import annotations

import socket
from time import monotonic

import gevent
import gevent.socket

from chaussette_compat.backends.loop_turns import LoopTurns

BUSY_STEP_S = 0.002
STEPS = 50


def _busy_steps(turns: LoopTurns, done: list[int], reader_done: list[int]) -> None:
    """A connection whose next request is always in: 50 steps of 2 ms of CPU, never blocking."""
    for step in range(STEPS):
        until = monotonic() + BUSY_STEP_S
        while monotonic() < until:
            pass
        done.append(step)
        if reader_done:
            return
        turns.take_turn()


def _run(slice_s: float) -> list[int]:
    """How many busy steps ran before a greenlet blocked on readable data got to read it."""
    turns = LoopTurns(slice_s)
    left, right = gevent.socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    done: list[int] = []
    reader_done: list[int] = []

    def read() -> None:
        left.recv(1)
        reader_done.append(len(done))

    try:
        reader = gevent.spawn(read)
        gevent.sleep(0.01)  # the reader is now blocked in recv, waiting for the hub to poll
        right.sendall(b"x")
        busy = gevent.spawn(_busy_steps, turns, done, reader_done)
        gevent.joinall([reader, busy], timeout=5)
    finally:
        turns.close()
        left.close()
        right.close()
    return reader_done


def test_a_greenlet_that_never_blocks_lets_io_through_once_its_turn_is_old():
    reader_done = _run(slice_s=0.005)
    assert reader_done, "the reader never ran"
    # 3 steps make the turn older than 5 ms; the reader's data is handled before a 4th
    assert reader_done[0] <= 3, f"the reader waited {reader_done[0]} busy steps of 2 ms"


def test_while_the_turn_is_young_take_turn_does_not_yield():
    reader_done = _run(slice_s=60.0)
    assert reader_done == [STEPS], "the busy greenlet yielded although its turn was young"


def test_a_greenlet_killed_while_waiting_for_its_turn_leaves_the_others_unharmed():
    turns = LoopTurns(slice_s=0.0)  # every take_turn waits
    try:
        doomed = gevent.spawn(turns.take_turn)
        waiting = gevent.spawn(turns.take_turn)
        gevent.sleep(0)  # both are waiting now
        doomed.kill()
        assert gevent.joinall([waiting], timeout=5) == [waiting]
        assert waiting.successful()
        assert gevent.spawn(turns.take_turn).get(timeout=5) is None  # and the next turn comes too
    finally:
        turns.close()
