"""Request smuggling through the real nginx to our workers: CL.TE, TE.CL, TE.TE, duplicate Host, obs-fold and
trailer variants. Whatever nginx forwards, no second request may reach the app and no forged header may.

The worker's access log lists every request the app served: a smuggled request would show up there
as `/smuggled`; the echo app's reports (the responses) show the headers it saw.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from tests.component.chaussette.harness import APPS, Client, Response, Worker
from tests.e2e.examples import DJANGO_DIR
from tests.e2e.nginx import Nginx

H = b"Host: t\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: t\r\nX-Forged: yes\r\n\r\n"
#: Sent behind every attack, so that reading until the connection closes ends.
LAST = b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
READ_TIMEOUT_S = 5.0


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


ATTACKS: dict[str, bytes] = {
    "CL.TE": b"POST / HTTP/1.1\r\n"
    + H
    + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n%b" % (5 + len(SMUGGLED), SMUGGLED),
    "TE.CL": b"POST / HTTP/1.1\r\n"
    + H
    + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    + chunk(SMUGGLED)
    + b"0\r\n\r\n",
    "TE.TE two lines": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n"
    b"Content-Length: 4\r\n\r\n" + chunk(SMUGGLED) + b"0\r\n\r\n",
    "TE.TE space before colon": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n"
    b"Content-Length: 4\r\n\r\n" + chunk(SMUGGLED) + b"0\r\n\r\n",
    "TE.TE xchunked": b"POST / HTTP/1.1\r\n"
    + H
    + b"Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n"
    + chunk(SMUGGLED)
    + b"0\r\n\r\n",
    "TE.TE tab": b"POST / HTTP/1.1\r\n"
    + H
    + b"Transfer-Encoding:\tchunked\r\nContent-Length: 4\r\n\r\n"
    + chunk(SMUGGLED)
    + b"0\r\n\r\n",
    "TE.TE chunked, identity": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, identity\r\n"
    b"Content-Length: 4\r\n\r\n" + chunk(SMUGGLED) + b"0\r\n\r\n",
    "HTTP/1.0 with TE": b"POST / HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: keep-alive\r\n\r\n" + chunk(SMUGGLED) + b"0\r\n\r\n",
    "duplicate Host": b"GET / HTTP/1.1\r\nHost: t\r\nHost: evil.example.com\r\n\r\n",
    "obs-fold Transfer-Encoding": b"POST / HTTP/1.1\r\n"
    + H
    + b"Content-Length: 4\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
    + chunk(SMUGGLED)
    + b"0\r\n\r\n",
    "obs-fold forged header": b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n X-Forged: yes\r\n\r\n",
    "trailer fields": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
    b"X-Forged: yes\r\nHost: evil.example.com\r\nContent-Length: 60\r\n\r\n",
    "chunk extension smuggling": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
    b"2;\n" + b"xx\r\n" + chunk(SMUGGLED) + b"0\r\n\r\n",
}


@pytest.fixture(scope="module", params=["gevent", "waitress"])
def behind_nginx(request, tmp_path_factory, nginx_binary):
    workdir = tmp_path_factory.mktemp(f"smuggling-{request.param}")
    worker = Worker(workdir, f"{APPS}:echo", "--access-log", backend=request.param)
    nginx = Nginx(nginx_binary, workdir / "nginx")
    try:
        static = workdir / "static"
        static.mkdir()
        nginx.start(
            (DJANGO_DIR / "nginx.conf").read_text(),
            static_root=static,
            upstream_tcp=f"127.0.0.1:{worker.port}",
        )
        yield nginx, worker
    finally:
        nginx.stop()
        worker.close()


def responses_until_close(client: Client) -> list[Response]:
    responses: list[Response] = []
    with contextlib.suppress(ConnectionError, TimeoutError, ValueError):
        while True:
            responses.append(client.read_response())
    return responses


def served_paths(worker: Worker) -> list[str]:
    """The paths of the requests the app served, from the worker's access log (refusals, logged as
    '"- - -"', never reached it)."""
    paths = []
    for line in worker.log().splitlines():
        parts = line.split('"')
        if len(parts) >= 3 and " - - [" in parts[0] and parts[1].count(" ") == 2 and parts[1] != "- - -":
            paths.append(parts[1].split(" ")[1])
    return paths


@pytest.mark.parametrize("via", ["nginx", "direct"])
@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_nothing_is_smuggled(behind_nginx, attack, via):
    """Through nginx as deployed, and straight to the worker (what a second proxy or a client on the
    socket's network would send)."""
    nginx, worker = behind_nginx
    before = len(served_paths(worker))
    client = Client(nginx.port if via == "nginx" else worker.port, timeout_s=READ_TIMEOUT_S)
    try:
        client.send(ATTACKS[attack] + LAST)
        responses = responses_until_close(client)
    finally:
        client.close()
    assert responses, f"{attack}: no response at all from nginx"
    # the access-log lines of this attack's requests are written before their responses are sent
    served = served_paths(worker)[before:]
    assert "/smuggled" not in served, f"{attack}: a smuggled request reached the app: {served}"
    assert all(path in ("/", "/last") for path in served), served
    for response in responses:
        if response.status == 200 and response.body.startswith(b"{"):
            seen = json.loads(response.body)["headers"]
            assert "HTTP_X_FORGED" not in seen, f"{attack}: a forged header reached the app: {seen}"
            assert "evil" not in seen.get("HTTP_HOST", ""), f"{attack}: a forged Host reached the app: {seen}"
            assert "/smuggled" not in json.dumps(seen)
