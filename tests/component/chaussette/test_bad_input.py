"""Requests the server refuses, clients that misbehave, and apps that fail: the worker keeps serving."""

from __future__ import annotations

import socket
import time

import pytest

from .harness import APPS, Client, get

ECHO = f"{APPS}:echo"
SHORT_TIMEOUTS = ("--header-timeout", "0.3", "--keepalive-timeout", "0.3", "--io-timeout", "0.5")


def _answer(port: int, raw: bytes) -> int:
    client = Client(port)
    try:
        client.send(raw)
        response = client.read_response()
        assert response.header("Connection") == "close"
        return response.status
    finally:
        client.close()


@pytest.fixture
def echo_worker(start_worker):
    return start_worker(ECHO, "--max-body-size", "1k", *SHORT_TIMEOUTS)


def test_request_line_over_8k_is_414(echo_worker):
    assert _answer(echo_worker.port, b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\nHost: t\r\n\r\n") == 414
    assert get(echo_worker.port).status == 200


def test_header_field_over_8k_is_431(echo_worker):
    raw = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"v" * 8200 + b"\r\n\r\n"
    assert _answer(echo_worker.port, raw) == 431


def test_more_than_100_header_fields_is_431(echo_worker):
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(101))
    assert _answer(echo_worker.port, b"GET / HTTP/1.1\r\n" + fields + b"\r\n") == 431
    exactly_100 = b"".join(b"X-F%d: v\r\n" % i for i in range(98)) + b"Host: t\r\nConnection: close\r\n"
    assert _answer(echo_worker.port, b"GET / HTTP/1.1\r\n" + exactly_100 + b"\r\n") == 200


def test_endless_header_line_is_431_without_waiting_for_its_end(echo_worker):
    client = Client(echo_worker.port)
    client.send(b"GET / HTTP/1.1\r\nX-Endless: ")
    # The server answers 431 and closes while we still send: a send then fails. Bounded in count and
    # time (a loaded machine's worker may take a while to read the first chunks).
    deadline = time.monotonic() + 15
    with pytest.raises(OSError):
        for _ in range(2000):
            client.send(b"v" * 65536)
            if time.monotonic() > deadline:
                break
    client.close()
    assert get(echo_worker.port).status == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_request_is_400(echo_worker, raw):
    assert _answer(echo_worker.port, raw) == 400


def test_http2_request_line_is_505(echo_worker):
    assert _answer(echo_worker.port, b"GET / HTTP/2.0\r\nHost: t\r\n\r\n") == 505


def test_content_length_over_max_body_is_413_before_the_app_runs(echo_worker):
    assert _answer(echo_worker.port, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n") == 413


def test_chunked_body_over_max_is_413(echo_worker):
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
    raw = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + b"0\r\n\r\n"
    assert _answer(echo_worker.port, raw) == 413
    assert "Traceback" not in echo_worker.log()


def test_body_at_the_limit_is_accepted(echo_worker):
    client = Client(echo_worker.port)
    client.request("POST", "/", body=b"y" * 1024)
    assert client.read_response().status == 200
    client.close()


def test_slowloris_is_closed_after_the_header_timeout(echo_worker):
    client = Client(echo_worker.port)
    started = time.monotonic()
    client.send(b"GET / HTTP/1.1\r\n")
    for _ in range(20):  # one byte every 50 ms never completes the head
        try:
            client.send(b"X")
        except OSError:
            break
        time.sleep(0.05)
    assert client.is_closed_by_peer(2)
    assert 0.25 < time.monotonic() - started < 1.5
    client.close()


def test_silent_new_connection_is_closed_after_the_header_timeout(echo_worker):
    client = Client(echo_worker.port)
    started = time.monotonic()
    assert client.is_closed_by_peer(2)
    assert time.monotonic() - started < 1.5
    client.close()


def test_idle_keep_alive_is_closed_after_its_timeout(echo_worker):
    client = Client(echo_worker.port)
    client.request()
    assert client.read_response().status == 200
    started = time.monotonic()
    assert client.is_closed_by_peer(2)
    assert 0.25 < time.monotonic() - started < 1.5
    client.close()


def test_stalled_body_upload_is_closed_after_the_io_timeout(echo_worker):
    client = Client(echo_worker.port)
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial")
    assert client.is_closed_by_peer(3)
    client.close()
    assert get(echo_worker.port).status == 200


def test_app_exception_is_500_and_the_worker_keeps_serving(start_worker):
    worker = start_worker(f"{APPS}:fail")
    assert get(worker.port).status == 500
    assert get(worker.port).status == 500
    assert "RuntimeError: the app failed on purpose" in worker.log()
    assert worker.process.poll() is None


def test_app_exception_after_the_head_closes_the_connection(start_worker):
    worker = start_worker(f"{APPS}:fail_midstream")
    for _ in range(2):  # the worker survives to fail the same way again
        client = Client(worker.port)
        client.request()
        assert client.reader.readline() == b"HTTP/1.1 200 OK\r\n"
        received = client.reader.read()  # up to the close: the chunked body is never terminated
        assert b"first part" in received and not received.endswith(b"0\r\n\r\n")
        client.close()
    assert "RuntimeError: the app failed after the head was sent" in worker.log()
    assert worker.process.poll() is None


def test_client_disconnecting_mid_response_does_not_kill_the_worker(start_worker):
    worker = start_worker(f"{APPS}:big")
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", worker.port))
        sock.sendall(b"GET /?mb=64 HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # RST while the server is still sending
    response = get(worker.port, "/?mb=0.01")
    assert response.status == 200 and len(response.body) == int(0.01 * 1024 * 1024)
    assert worker.process.poll() is None
    assert "Traceback" not in worker.log()


def test_malformed_request_behind_a_good_one_gets_400_after_the_good_answer(echo_worker):
    client = Client(echo_worker.port)
    client.send(b"GET /good HTTP/1.1\r\nHost: t\r\n\r\nGET /bad HTTP/1.1\r\nBad Name: x\r\n\r\n")
    assert client.read_response().status == 200
    assert client.read_response().status == 400
    assert client.is_closed_by_peer(2)
    client.close()
