"""HTTP/1.1 behaviour of the gevent backend, over real sockets, against the real `chaussette` process."""

from __future__ import annotations

import json
import socket
import time
import wsgiref.validate  # noqa: F401 - the 'validated' app wraps every request in it
from pathlib import Path

from .harness import APPS, Client, get

ECHO = f"{APPS}:echo"


def test_keep_alive_serves_several_requests_on_one_connection(start_worker):
    worker = start_worker(ECHO)
    client = Client(worker.port)
    for index in range(3):
        client.request("GET", f"/n/{index}")
        response = client.read_response()
        assert response.status == 200
        assert json.loads(response.body)["PATH_INFO"] == f"/n/{index}"
        assert response.header("Connection") is None  # HTTP/1.1: keep-alive is the default
    client.close()


def test_pipelined_requests_are_answered_in_order(start_worker):
    worker = start_worker(ECHO)
    client = Client(worker.port)
    client.send(b"".join(f"GET /p{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for i in range(5)))
    paths = [json.loads(client.read_response().body)["PATH_INFO"] for _ in range(5)]
    assert paths == [f"/p{i}" for i in range(5)]
    client.close()


def test_pipelined_request_with_body_between_bodiless_ones(start_worker):
    worker = start_worker(ECHO)
    client = Client(worker.port)
    client.send(
        b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
        b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /c HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    bodies = [json.loads(client.read_response().body) for _ in range(3)]
    assert [(b["PATH_INFO"], b["body"]) for b in bodies] == [("/a", ""), ("/b", "hello"), ("/c", "")]
    client.close()


def test_chunked_request_body_is_dechunked_for_the_app(start_worker):
    worker = start_worker(ECHO)
    client = Client(worker.port)
    client.send(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    for piece in (b"5\r\nhello\r\n", b"1;ext=1\r\n \r\n", b"5\r\nworld\r\n", b"0\r\n\r\n"):
        client.send(piece)
        time.sleep(0.01)  # separate TCP segments, so the body arrives in pieces
    report = json.loads(client.read_response().body)
    assert report["body"] == "hello world"
    assert "CONTENT_LENGTH" not in report
    assert report["wsgi.input_terminated"] is True
    client.close()


def test_body_read_line_by_line(start_worker):
    worker = start_worker(f"{APPS}:read_lines")
    client = Client(worker.port)
    body = b"".join(b"line %d\n" % i for i in range(1000))
    client.request("POST", "/", body=body)
    assert json.loads(client.read_response().body) == {"lines": 1000, "bytes": len(body)}
    client.close()


def test_generator_response_is_chunked_for_http11(start_worker):
    worker = start_worker(f"{APPS}:stream")
    client = Client(worker.port)
    client.request("GET", "/?n=4&size=3")
    response = client.read_response()
    assert response.header("Transfer-Encoding") == "chunked"
    assert response.body == b"aaabbbcccddd"
    client.request("GET", "/?n=0")  # still usable: the chunked body was terminated
    response = client.read_response()
    assert response.body == b""
    client.close()


def test_http10_response_closes_and_is_close_delimited(start_worker):
    worker = start_worker(f"{APPS}:stream")
    client = Client(worker.port)
    client.request("GET", "/?n=2&size=4", version="HTTP/1.0")
    response = client.read_response()
    assert response.header("Connection") == "close"
    assert response.header("Transfer-Encoding") is None
    assert response.body == b"aaaabbbb"
    client.close()


def test_http10_keep_alive_when_asked_and_length_known(start_worker):
    worker = start_worker(ECHO)
    client = Client(worker.port)
    for _ in range(2):
        client.request("GET", "/", headers={"Connection": "keep-alive"}, version="HTTP/1.0")
        response = client.read_response()
        assert response.status == 200
        assert response.header("Connection") == "keep-alive"
        assert json.loads(response.body)["SERVER_PROTOCOL"] == "HTTP/1.0"
    client.close()


def test_expect_100_continue_is_answered_when_the_app_reads(start_worker):
    worker = start_worker(ECHO)
    client = Client(worker.port)
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    interim = client.read_response()
    assert interim.status == 100
    client.send(b"data")
    response = client.read_response()
    assert json.loads(response.body)["body"] == "data"
    client.close()


def test_expect_100_continue_not_sent_when_the_app_ignores_the_body(start_worker):
    worker = start_worker(f"{APPS}:ignore_body")
    client = Client(worker.port)
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
    response = client.read_response()
    assert response.status == 200 and response.body == b"ignored"
    assert response.header("Connection") == "close"  # the body was never asked for: don't wait for it
    assert client.is_closed_by_peer(5)
    client.close()


def test_unread_small_body_is_drained_and_the_connection_kept(start_worker):
    worker = start_worker(f"{APPS}:ignore_body")
    client = Client(worker.port)
    client.request("POST", "/", body=b"x" * 1000)
    client.request("GET", "/")
    assert [client.read_response().status for _ in range(2)] == [200, 200]
    client.close()


def test_head_has_the_get_length_and_no_body(start_worker):
    worker = start_worker(f"{APPS}:hello")
    client = Client(worker.port)
    client.request("HEAD", "/")
    head = client.read_response(method="HEAD")
    client.request("GET", "/")
    full = client.read_response()
    assert head.status == 200 and head.body == b""
    assert head.header("Content-Length") == full.header("Content-Length") == "5"
    assert full.body == b"hello"
    client.close()


def test_wsgiref_validate_accepts_our_environ_and_calls(start_worker):
    worker = start_worker(f"{APPS}:validated")
    client = Client(worker.port)
    client.request("GET", "/path%20with%20space?q=1")
    assert client.read_response().body == b"ok:"
    client.request("POST", "/", body=b"payload")
    assert client.read_response().body == b"ok:payload"
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert client.read_response().body == b"ok:abc"
    client.close()
    assert "Traceback" not in worker.log()


def test_remote_and_server_addresses_are_real_on_an_inherited_fd(start_worker):
    worker = start_worker(ECHO, "--trusted-proxies", "")
    client = Client(worker.port)
    client.request("GET", "/")
    report = json.loads(client.read_response().body)
    local_host, local_port = client.sock.getsockname()
    assert (report["REMOTE_ADDR"], report["REMOTE_PORT"]) == (local_host, str(local_port))
    assert (report["SERVER_NAME"], report["SERVER_PORT"]) == ("127.0.0.1", str(worker.port))
    assert report["wsgi.url_scheme"] == "http"
    assert report["wsgi.multiprocess"] is True
    client.close()


def test_percent_decoded_path_and_raw_query(start_worker):
    worker = start_worker(ECHO)
    report = json.loads(get(worker.port, "/caf%C3%A9/a%2Fb?x=%20y").body)
    assert report["PATH_INFO"] == "/café/a/b".encode().decode("latin-1")
    assert report["QUERY_STRING"] == "x=%20y"
    assert report["RAW_URI"] == "/caf%C3%A9/a%2Fb?x=%20y"


def test_forwarded_headers_honoured_from_a_trusted_proxy(start_worker):
    worker = start_worker(ECHO)  # default trusted proxies: loopback and unix
    headers = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https"}
    report = json.loads(get(worker.port, "/", headers=headers).body)
    assert report["REMOTE_ADDR"] == "203.0.113.7"  # the rightmost: the one the proxy saw
    assert report["wsgi.url_scheme"] == "https"
    assert report["headers"]["HTTP_X_FORWARDED_FOR"] == "198.51.100.9, 203.0.113.7"


def test_forwarded_headers_dropped_from_an_untrusted_peer(start_worker):
    worker = start_worker(ECHO, "--trusted-proxies", "10.0.0.0/8")
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    report = json.loads(get(worker.port, "/", headers=headers).body)
    assert report["REMOTE_ADDR"] == "127.0.0.1"
    assert report["wsgi.url_scheme"] == "http"
    assert "HTTP_X_FORWARDED_FOR" not in report["headers"]
    assert "HTTP_X_FORWARDED_PROTO" not in report["headers"]


def test_header_with_underscore_cannot_spoof_a_dashed_one(start_worker):
    worker = start_worker(ECHO, "--trusted-proxies", "")
    report = json.loads(get(worker.port, "/", headers={"X_Real_Ip": "1.2.3.4"}).body)
    assert "HTTP_X_REAL_IP" not in report["headers"]


def test_file_wrapper_sends_the_whole_file(start_worker, tmp_path: Path):
    payload = bytes(range(256)) * 4096  # 1 MiB
    path = tmp_path / "blob.bin"
    path.write_bytes(payload)
    worker = start_worker(f"{APPS}:send_file")
    client = Client(worker.port)
    client.request("GET", f"/?path={path}")
    response = client.read_response()
    assert response.header("Content-Length") == str(len(payload))
    assert response.body == payload
    client.request("HEAD", f"/?path={path}")
    assert client.read_response(method="HEAD").header("Content-Length") == str(len(payload))
    client.close()


def test_access_log_lines_in_common_log_format(start_worker):
    worker = start_worker(f"{APPS}:hello", "--access-log")
    get(worker.port, "/logged?x=1")
    client = Client(worker.port)
    client.send(b"BROKEN\r\n\r\n")
    assert client.read_response().status == 400
    client.close()

    def logged() -> bool:
        return '"GET /logged?x=1 HTTP/1.1" 200 5' in worker.log() and '"- - -" 400 -' in worker.log()

    deadline = time.monotonic() + 5
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.01)
    line = next(entry for entry in worker.log().splitlines() if "/logged" in entry)
    assert line.startswith("127.0.0.1 - - [")
    assert logged()


def test_unix_socket_listener_via_host_option(start_worker, tmp_path: Path):
    path = str(tmp_path / "app.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    listener.set_inheritable(True)
    worker = start_worker(ECHO, listener=listener)
    client = Client(unix_path=path)
    client.request("GET", "/", headers={"X-Forwarded-For": "203.0.113.7"})
    report = json.loads(client.read_response().body)
    assert report["REMOTE_ADDR"] == "203.0.113.7"  # unix peers are trusted by default
    assert report["SERVER_NAME"] == "localhost"
    client.close()
    assert worker.process.poll() is None


def test_spawn_bounds_concurrent_connections(start_worker):
    worker = start_worker(f"{APPS}:slow", "--spawn", "1")
    first = Client(worker.port)
    first.request("GET", "/?s=0.5", headers={"Connection": "close"})  # frees its slot when answered
    second = Client(worker.port)
    second.request("GET", "/?s=0")
    started = time.monotonic()
    assert second.read_response().status == 200  # waited for the only slot
    assert 0.3 < time.monotonic() - started < 3
    assert first.read_response().status == 200
    first.close()
    second.close()
