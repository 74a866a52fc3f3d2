"""Graceful stop and readiness: what circusd relies on when it stops or replaces a worker."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from .harness import APPS, Client, NotifySocket, Worker, get, wait_for

SLOW = f"{APPS}:slow"


def _request_in_background(port: int, target: str) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        client = Client(port, timeout_s=30)
        try:
            client.request("GET", target)
            outcome["response"] = client.read_response()
            outcome["closed_after"] = client.is_closed_by_peer(5)
        except Exception as exc:  # reported through `outcome`
            outcome["error"] = exc
        finally:
            client.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _wait_in_flight(worker: Worker, count: int = 1) -> None:
    """Wait until the slow app has started `count` requests (it says so on wsgi.errors)."""
    wait_for(lambda: worker.log().count("slow request started") >= count, 5, "the slow request to start")


def _graceful_stop_finishes_in_flight(start_worker, seconds: float) -> None:
    worker = start_worker(SLOW, "--graceful-timeout", str(seconds + 5))
    idle = Client(worker.port)
    idle.request("GET", "/?s=0")
    assert idle.read_response().status == 200  # now an idle keep-alive connection
    thread, outcome = _request_in_background(worker.port, f"/?s={seconds}")
    _wait_in_flight(worker, 2)  # the idle connection's request counted too
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    worker.notify.wait_message("STOPPING=1", 5)
    assert idle.is_closed_by_peer(3), "idle keep-alive connections are closed after a short grace"
    assert worker.wait_exit(seconds + 5) == 0
    elapsed = time.monotonic() - started
    thread.join(5)
    response = outcome["response"]
    assert response.status == 200 and response.body == f"slept {seconds}".encode()
    assert response.header("Connection") == "close"
    assert outcome["closed_after"]
    assert elapsed < seconds + 2
    idle.close()


def test_graceful_stop_finishes_a_request_in_flight(start_worker):
    _graceful_stop_finishes_in_flight(start_worker, 1.0)


@pytest.mark.slow
def test_graceful_stop_finishes_a_5s_request(start_worker):
    _graceful_stop_finishes_in_flight(start_worker, 5.0)


def test_stopping_worker_stops_accepting(start_worker):
    worker = start_worker(SLOW, "--graceful-timeout", "10")
    thread, outcome = _request_in_background(worker.port, "/?s=1")
    _wait_in_flight(worker)
    worker.signal(signal.SIGTERM)
    worker.notify.wait_message("STOPPING=1", 5)
    late = Client(worker.port)  # queues in the backlog this test holds: the stopping worker must not take it
    late.request("GET", "/?s=0")
    assert worker.wait_exit(5) == 0
    thread.join(5)
    assert outcome["response"].status == 200
    replacement = start_worker(SLOW, listener=worker.listener, name="replacement")
    assert late.read_response().status == 200  # served by the next worker, not lost
    late.close()
    replacement.signal(signal.SIGTERM)
    assert replacement.wait_exit(5) == 0


def test_graceful_timeout_cuts_requests_that_take_too_long(start_worker):
    worker = start_worker(SLOW, "--graceful-timeout", "0.5")
    thread, outcome = _request_in_background(worker.port, "/?s=30")
    _wait_in_flight(worker)
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(5) == 0
    assert time.monotonic() - started < 2
    thread.join(5)
    assert "error" in outcome
    assert "graceful timeout" in worker.log()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGQUIT])
def test_sigint_and_sigquit_stop_at_once(start_worker, signum):
    worker = start_worker(SLOW)
    thread, outcome = _request_in_background(worker.port, "/?s=30")
    _wait_in_flight(worker)
    started = time.monotonic()
    worker.signal(signum)
    assert worker.wait_exit(5) == 0
    assert time.monotonic() - started < 2
    thread.join(5)
    assert "error" in outcome


def test_stop_signal_is_configurable(start_worker):
    worker = start_worker(SLOW, "--stop-signal", "USR1", "--graceful-timeout", "10")
    thread, outcome = _request_in_background(worker.port, "/?s=0.5")
    _wait_in_flight(worker)
    worker.signal(signal.SIGUSR1)
    assert worker.wait_exit(5) == 0
    thread.join(5)
    assert outcome["response"].status == 200
    assert "SIGUSR1: stopped accepting" in worker.log()


def test_stop_signal_int_makes_sigint_graceful(start_worker):
    worker = start_worker(SLOW, "--stop-signal", "INT", "--graceful-timeout", "10")
    thread, outcome = _request_in_background(worker.port, "/?s=0.5")
    _wait_in_flight(worker)
    worker.signal(signal.SIGINT)
    assert worker.wait_exit(5) == 0
    thread.join(5)
    assert outcome["response"].status == 200


def test_ready_is_sent_only_once_the_app_is_imported_and_serving(start_worker):
    worker = start_worker(f"{APPS}:hello", wait_ready=False)
    worker.wait_ready()
    assert worker.notify.messages[0] == "READY=1"
    assert get(worker.port).status == 200  # ready means ready: the first request is served


def test_ready_on_an_abstract_notify_socket(tmp_path: Path):
    notify = NotifySocket(f"@chaussette-test-{time.monotonic_ns()}")
    worker = Worker(tmp_path, f"{APPS}:hello", env={"NOTIFY_SOCKET": notify.address}, wait_ready=False)
    try:
        notify.wait_message("READY=1", 15)
        worker.signal(signal.SIGTERM)
        notify.wait_message("STOPPING=1", 5)
        assert worker.wait_exit(5) == 0
    finally:
        worker.close()
        notify.close()


def test_no_ready_when_the_app_fails_to_import(start_worker):
    worker = start_worker(f"{APPS}:missing_app", wait_ready=False)
    assert worker.wait_exit(15) == 4
    assert worker.notify.messages == []


@pytest.mark.parametrize("backend", ["waitress", "wsgiref"])
def test_other_backends_serve_and_stop_gracefully(start_worker, backend):
    worker = start_worker(SLOW, "--graceful-timeout", "10", backend=backend)
    assert get(worker.port, "/?s=0").status == 200
    thread, outcome = _request_in_background(worker.port, "/?s=1")
    _wait_in_flight(worker, 2)  # the first request counted too
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(10) == 0
    thread.join(5)
    assert outcome["response"].status == 200
    assert outcome["response"].body == b"slept 1.0"


@pytest.mark.parametrize("backend", ["gevent", "waitress"])
def test_request_arriving_with_the_stop_signal_on_an_idle_connection_is_served(start_worker, backend):
    worker = start_worker(SLOW, "--graceful-timeout", "10", backend=backend)
    client = Client(worker.port)
    client.request("GET", "/?s=0")
    assert client.read_response().status == 200  # now idle, kept alive
    worker.signal(signal.SIGSTOP)  # frozen: the next request and the stop signal arrive together
    try:
        client.request("GET", "/?s=0")
        worker.signal(signal.SIGTERM)
    finally:
        worker.signal(signal.SIGCONT)
    response = client.read_response()
    assert response.status == 200 and response.body == b"slept 0.0"
    assert worker.wait_exit(10) == 0
    client.close()


def test_a_request_in_the_stop_grace_on_an_idle_connection_is_served_with_close(start_worker):
    worker = start_worker(SLOW, "--graceful-timeout", "10")
    client = Client(worker.port)
    client.request("GET", "/?s=0")
    assert client.read_response().status == 200  # now idle, kept alive
    worker.signal(signal.SIGTERM)
    worker.notify.wait_message("STOPPING=1", 5)
    client.request("GET", "/?s=0")  # the keep-alive client's next request, just after the stop signal
    response = client.read_response()
    assert response.status == 200 and response.header("Connection") == "close"
    assert worker.wait_exit(10) == 0
    client.close()
