"""What circusd does on each signal: the one table of the signals it handles, and the greenlet that
acts on them.

Rule (DESIGN.md, principle 6): a handler only enqueues; one greenlet takes signals off the queue
and acts through the arbiter's own methods, the ones commands use, so SIGHUP and `reloadconfig`
take the same path.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent
import gevent.queue

from circus_web_stack.core.errors import ClientError
from circus_web_stack.core.fsm_actions import FAST_STOP_S

if TYPE_CHECKING:
    from circus_web_stack.runtime.arbiter import Arbiter

log = logging.getLogger("circus_web_stack.arbiter")


def _stop(arbiter: Arbiter, name: str) -> None:
    # A second INT/TERM while a graceful stop runs escalates to a fast one (a second Ctrl-C).
    if arbiter.stop_under_way:
        log.info("got %s again: fast stop (SIGKILL %gs after the stop signal)", name, FAST_STOP_S)
        gevent.spawn(arbiter.stop, fast=True)
    else:
        log.info("got %s: graceful stop (send it again to stop fast)", name)
        gevent.spawn(arbiter.stop)


def _fast_stop(arbiter: Arbiter, name: str) -> None:
    log.info("got %s: fast stop", name)
    gevent.spawn(arbiter.stop, fast=True)


def _reload_config(arbiter: Arbiter, name: str) -> None:
    log.info("got %s: reloading the configuration", name)

    def reload_logged() -> None:
        try:
            arbiter.reload_config()
        except ClientError as exc:
            log.error("reloadconfig refused: %s", exc)

    gevent.spawn(reload_logged)


def _reopen_logs(arbiter: Arbiter, name: str) -> None:
    log.info("got %s: reopening log files", name)
    arbiter.reopen_logs()


SIGNAL_ACTIONS: dict[signal.Signals, Callable[[Arbiter, str], None]] = {
    signal.SIGTERM: _stop,
    signal.SIGINT: _stop,
    signal.SIGQUIT: _fast_stop,
    signal.SIGHUP: _reload_config,
    signal.SIGUSR1: _reopen_logs,
}
# Signals a container runtime or an operator may send that have nothing to do: without a handler,
# SIGUSR2 would kill a circusd that is not PID 1; SIGWINCH comes with every resize of a docker tty.
IGNORED_SIGNALS = (signal.SIGUSR2, signal.SIGWINCH)


def handle_signals(arbiter: Arbiter) -> None:
    """Install the handlers (each only enqueues) and start the greenlet that acts on the queue."""
    received: gevent.queue.Queue[int] = gevent.queue.Queue()
    for signum in (*SIGNAL_ACTIONS, *IGNORED_SIGNALS):
        gevent.signal_handler(signum, received.put_nowait, signum)
    gevent.spawn(_act_on_signals, arbiter, received)


def _act_on_signals(arbiter: Arbiter, received: gevent.queue.Queue[int]) -> None:
    while True:
        signum = received.get()
        name = signal.Signals(signum).name
        action = SIGNAL_ACTIONS.get(signal.Signals(signum))
        if action is None:
            log.debug("got %s: nothing to do", name)
            continue
        try:
            action(arbiter, name)
        except Exception:  # this loop must outlive any failure, or SIGTERM would be ignored
            log.exception("handling %s failed", name)
