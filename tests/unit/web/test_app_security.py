"""The console's HTTP rules, called as WSGI (no daemon needed: nothing here reaches one): who may see,
who may act, forged and garbage requests refused with a clear answer, headers on every response."""

from __future__ import annotations

import io
import json
from http.cookies import SimpleCookie
from wsgiref.util import setup_testing_defaults

import pytest

from circus_web_stack.web import auth
from circus_web_stack.web.app import ConsoleApp, Credentials
from circus_web_stack.web.channel import Channel
from circus_web_stack.web.live import DaemonView

ADMIN_HASH = auth.hash_password("admin-pw")
VIEWER_HASH = auth.hash_password("viewer-pw")


class Client:
    """Calls the app as a browser would: keeps cookies, returns (status, headers, body)."""

    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
        path, _, query = path.partition("?")
        environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
        setup_testing_defaults(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        answer: dict = {}
        chunks = self.app(environ, lambda status, hdrs: answer.update(status=status, headers=hdrs))
        data = b"".join(chunks)
        for name, value in answer["headers"]:
            if name == "Set-Cookie":
                cookie = SimpleCookie(value)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value
        return answer["status"], dict(answer["headers"]), data

    def log_in(self, password: str):
        _, _, page = self.request("GET", "/login")
        csrf = page.decode().split('name="csrf" value="')[1].split('"')[0]
        return self.request("POST", "/login", f"csrf={csrf}&password={password}".encode())

    def csrf(self) -> str:
        return json.loads(self.request("GET", "/api/state")[2])["csrf"]


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch):
    """The delay after a failed login is policy, not what these tests look at."""
    monkeypatch.setattr("circus_web_stack.web.app.FAILED_LOGIN_DELAY_S", 0.0)


@pytest.fixture
def app():
    channel = Channel()
    # A daemon view that is never started: these requests are refused before any reaches it.
    daemon = DaemonView(0, "ipc:///nonexistent/control.sock", channel)
    return ConsoleApp([daemon], channel, Credentials(ADMIN_HASH, VIEWER_HASH, "the-token"), b"s" * 32)


def test_nothing_but_login_and_static_files_without_a_session(app):
    client = Client(app)
    assert client.request("GET", "/")[:2][0] == "303 See Other"
    assert client.request("GET", "/")[1]["Location"] == "login"
    for method, path in (("GET", "/api/state"), ("GET", "/api/live"), ("POST", "/api/action")):
        status, _, body = client.request(method, path)
        assert status == "401 Unauthorized", path
        assert json.loads(body) == {"error": "log in first"}
    assert client.request("GET", "/static/app.js")[0] == "200 OK"


def test_wrong_password_is_refused_and_the_right_one_opens_a_session(app):
    client = Client(app)
    status, _, page = client.log_in("guess")
    assert status == "401 Unauthorized" and b"Wrong password or token." in page
    assert auth.SESSION_COOKIE not in client.cookies
    status, headers, _ = client.log_in("admin-pw")
    assert status == "303 See Other"
    assert "HttpOnly; SameSite=Strict" in headers["Set-Cookie"]
    state = json.loads(client.request("GET", "/api/state")[2])
    assert state["role"] == "admin" and state["csrf"]


def test_a_login_post_without_the_forms_token_is_refused(app):
    client = Client(app)
    status, _, page = client.request("POST", "/login", b"password=admin-pw")
    assert status == "403 Forbidden" and b"expired" in page


def test_the_start_up_token_logs_in_from_its_link(app):
    client = Client(app)
    assert client.request("GET", "/login?token=wrong")[0] == "200 OK"  # the form again
    assert auth.SESSION_COOKIE not in client.cookies
    assert client.request("GET", "/login?token=the-token")[0] == "303 See Other"
    assert json.loads(client.request("GET", "/api/state")[2])["role"] == "admin"


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(app):
    client = Client(app)
    client.log_in("admin-pw")
    action = json.dumps({"command": "incr", "name": "web"}).encode()
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        status, _, body = client.request("POST", "/api/action", action, headers)
        assert status == "403 Forbidden"
        assert "CSRF" in json.loads(body)["error"]


def test_a_viewer_cannot_act(app):
    client = Client(app)
    client.log_in("viewer-pw")
    headers = {"X-CSRF-Token": client.csrf()}
    status, _, body = client.request("POST", "/api/action", b'{"command": "incr", "name": "web"}', headers)
    assert status == "403 Forbidden" and "read-only" in json.loads(body)["error"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", "400 Bad Request", "not JSON"),
        (b"[1, 2]", "400 Bad Request", "JSON object"),
        (b'{"command": "quit"}', "400 Bad Request", "unknown action 'quit' (one of start, stop"),
        (b'{"command": "incr", "name": "w", "nb": "many"}', "400 Bad Request", "nb must be an integer"),
        (b'{"command": "incr", "d": 4}', "400 Bad Request", "no daemon 4"),
        (b"x" * 70000, "413 Content Too Large", "at most"),
    ],
)
def test_garbage_actions_get_a_clear_error(app, body, status, says):
    client = Client(app)
    client.log_in("admin-pw")
    got, _, answer = client.request("POST", "/api/action", body, {"X-CSRF-Token": client.csrf()})
    assert got == status
    assert says in json.loads(answer)["error"]


def test_every_answer_carries_a_csp_without_inline_script(app):
    client = Client(app)
    for path in ("/login", "/static/app.css", "/api/state"):
        headers = client.request("GET", path)[1]
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_login_page_escapes_what_it_shows(app):
    page = Client(app).request("GET", "/login")[2].decode()
    assert "<script" not in page  # and the page itself runs no script at all
