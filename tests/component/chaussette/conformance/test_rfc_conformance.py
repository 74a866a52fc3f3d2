"""RFC 9110 / 9112 conformance of every backend: each row of `rfc_table.RULES` sent as raw bytes to a real
worker of each backend; the status, the environ the echo app saw, and whether the connection closed
are checked, and every refusal must be explained in its response body and in the access log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from circus_web_stack.testing.waiting import wait_until

from ..harness import APPS, Client, Response, Worker
from .rfc_table import RULES, Rule

BACKENDS = ("gevent", "waitress", "wsgiref")
CLOSE_WAIT_S = 3.0
REFUSAL_LINE = re.compile(r'"- - -" (\d{3}) - "(.+)"$', re.MULTILINE)


@pytest.fixture(scope="module")
def worker(request, tmp_path_factory) -> Iterator[Worker]:
    backend = request.param
    started = Worker(tmp_path_factory.mktemp(backend), f"{APPS}:echo", "--access-log", backend=backend)
    yield started
    started.close()


def cases() -> Iterator[object]:
    for backend in BACKENDS:
        for rule in RULES:
            why = rule.deviations.get(backend)
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            yield pytest.param(backend, rule, id=f"{backend}: {rule.id}", marks=marks)


def refusals_logged(worker: Worker) -> list[tuple[str, str]]:
    return REFUSAL_LINE.findall(worker.log())


def check_explained(rule: Rule, response: Response, worker: Worker, logged_before: int) -> None:
    lines = [line for line in response.body.decode("latin-1").splitlines() if line.strip()]
    assert len(lines) >= 2, f"{rule.id}: the refusal's body does not say why: {response.body!r}"
    logged = wait_until(
        lambda: refusals_logged(worker)[logged_before:], 5.0, f"the access-log line of {rule.id}"
    )
    assert logged[0][0] == str(response.status), logged


def check_environ(rule: Rule, response: Response) -> None:
    report = json.loads(response.body)
    seen = {**report, **report["headers"]}
    for key, expected in rule.environ.items():
        value = seen.get(key)
        # waitress joins repeated fields with ', ', ours with ',': both are the RFC's combination
        assert value is not None and value.replace(", ", ",") == expected, f"{rule.id}: {key}={value!r}"
    for key in rule.absent:
        assert key not in seen, f"{rule.id}: {key}={seen[key]!r} reached the app"


@pytest.mark.parametrize(("worker", "rule"), list(cases()), indirect=["worker"])
def test_rule(worker: Worker, rule: Rule) -> None:
    logged_before = len(refusals_logged(worker))
    client = Client(worker.port, timeout_s=5.0)
    try:
        client.send(rule.raw)
        responses = [client.read_response() for _ in range(rule.responses)]
        for response in responses:
            assert response.status in rule.status, (
                f"{rule.id}: got {response.status}, RFC allows {sorted(rule.status)}: {response.body[:300]!r}"
            )
        first = responses[0]
        if first.status >= 400:
            check_explained(rule, first, worker, logged_before)
        if rule.environ or rule.absent:
            check_environ(rule, first)
        if rule.closes:
            assert client.is_closed_by_peer(CLOSE_WAIT_S), f"{rule.id}: the connection stayed open"
    finally:
        client.close()
