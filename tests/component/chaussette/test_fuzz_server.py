"""Hypothesis fuzz of the live server: arbitrary and mangled requests over real sockets.

The worker (behind wsgiref.validate, so a bad environ would show as a 500) must answer each input
with well-formed HTTP responses or by closing, never crash, never log an internal error, and still
serve a normal request at the end.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ...unit.chaussette.http_strategies import streams
from .harness import APPS, Worker, get

STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n")
REFUSALS = {400, 413, 414, 431, 501, 505}


@pytest.fixture(scope="module")
def fuzz_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    worker = Worker(
        Path(tmp_path_factory.mktemp("fuzz")),
        f"{APPS}:validated",
        "--max-body-size",
        "512",
        "--limit-request-line",
        "256",
        "--limit-request-fields",
        "8",
        "--limit-request-field-size",
        "128",
        "--header-timeout",
        "0.5",
        "--io-timeout",
        "0.5",
    )
    yield worker
    worker.close()


def _exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)  # the end of the input: the server sees EOF after it
        except OSError:
            pass  # it already refused and closed
        received = []
        try:
            while chunk := sock.recv(65536):
                received.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(received)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=streams)
def test_server_answers_well_or_closes(fuzz_worker: Worker, data: bytes) -> None:
    reply = _exchange(fuzz_worker.port, data)
    if reply:
        match = STATUS_LINE.match(reply)
        assert match is not None, reply[:200]
        statuses = {int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)}
        assert statuses <= {200, 100} | REFUSALS, (statuses, data[:200])
    assert fuzz_worker.process.poll() is None


def test_worker_survived_the_fuzz_and_logged_no_internal_error(fuzz_worker: Worker) -> None:
    assert get(fuzz_worker.port).status == 200
    log = fuzz_worker.log()
    assert "internal error" not in log and "Traceback" not in log, log[-3000:]
