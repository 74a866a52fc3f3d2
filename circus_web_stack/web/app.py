"""The console's WSGI application: login, the page and its static files, the snapshot, the live
stream (Server-Sent Events) and actions (POST, through the control protocol).

Rules: every route but login and the static files needs a session; every POST needs the session's
CSRF token (login: the login cookie's); a viewer may look but not act; every answer carries a
Content-Security-Policy without inline script; the daemon's replies and errors go back verbatim, as
JSON the page shows as text; each action is logged with who did it and what the daemon said.
"""

from __future__ import annotations

import html
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

import gevent

from circus_web_stack.client.daemon import CallError
from circus_web_stack.protocol.commands import get_command
from circus_web_stack.web import auth
from circus_web_stack.web.auth import Role, Session
from circus_web_stack.web.channel import Channel, parse_cursor
from circus_web_stack.web.live import DaemonView

log = logging.getLogger("circus_web_stack.web")

MAX_BODY_BYTES = 64 * 1024
FAILED_LOGIN_DELAY_S = 1.0
ACTION_TIMEOUT_S = 300.0  # a rolling reload of many processes replies when it is done
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
]
STATIC_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "views.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
}
# What the page may ask the daemon, and the properties each takes (the daemon checks the values).
ACTIONS: dict[str, tuple[str, ...]] = {
    "start": ("name",),
    "stop": ("name",),
    "restart": ("name",),
    "reload": ("name",),
    "incr": ("name", "nb"),
    "decr": ("name", "nb"),
    "numprocesses": ("name", "count"),  # sent as `set name numprocesses count`
    "signal": ("name", "signum", "pid"),
    "reloadconfig": (),
}
INTEGER_FIELDS = ("nb", "count", "pid", "d")


@dataclass(frozen=True)
class Credentials:
    """What opens a session: the admin and read-only password hashes and the start-up token."""

    password_hash: str | None = None
    readonly_password_hash: str | None = None
    token: str | None = None

    def role_for(self, password: str) -> Role | None:
        if self.token and password and auth.same_secret(password, self.token):
            return Role.ADMIN
        if self.password_hash and auth.verify_password(password, self.password_hash):
            return Role.ADMIN
        if self.readonly_password_hash and auth.verify_password(password, self.readonly_password_hash):
            return Role.VIEWER
        return None


class BadRequest(Exception):
    def __init__(self, status: str, message: str) -> None:
        self.status = status
        super().__init__(message)


def _static(name: str) -> bytes:
    return resources.files("circus_web_stack.web").joinpath("static", name).read_bytes()


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>circus console: log in</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="static/app.css"></head>
<body class="login"><main><h1>circus console</h1>
<form method="post" action="login">
<input type="hidden" name="csrf" value="{csrf}">
<label>Password or token
<input type="password" name="password" autofocus autocomplete="current-password"></label>
<button type="submit">Log in</button>
<p class="error" id="login-error">{error}</p>
</form></main></body></html>
"""


class ConsoleApp:
    def __init__(
        self,
        daemons: list[DaemonView],
        channel: Channel,
        credentials: Credentials,
        secret: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.daemons = daemons
        self.channel = channel
        self.credentials = credentials
        self.secret = secret
        self.clock = clock
        self.static = {name: _static(name) for name in STATIC_TYPES}

    # ----------------------------------------------------------------- WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/")
        try:
            if path.startswith("/static/") and method == "GET":
                return self._serve_static(path.removeprefix("/static/"), start_response)
            if path == "/login":
                return self._login(environ, start_response)
            session = self._session(environ)
            if session is None:
                if path == "/" and method == "GET":
                    return self._redirect(start_response, "login")
                return self._json(start_response, "401 Unauthorized", {"error": "log in first"})
            if method == "POST":
                self._check_csrf(environ, session)
            route = (method, path)
            if route == ("GET", "/"):
                return self._respond(start_response, "200 OK", self.static["index.html"], "index.html")
            if route == ("GET", "/api/state"):
                return self._json(start_response, "200 OK", self.state(session))
            if route == ("GET", "/api/watcher"):
                return self._watcher(environ, start_response)
            if route == ("GET", "/api/live"):
                return self._live(environ, start_response)
            if route == ("POST", "/api/action"):
                return self._action(environ, start_response, session)
            if route == ("POST", "/logout"):
                return self._redirect(
                    start_response, "login", [self._cookie(environ, auth.SESSION_COOKIE, "", 0)]
                )
            raise BadRequest("404 Not Found", f"no page {method} {path}")
        except BadRequest as exc:
            return self._json(start_response, exc.status, {"error": str(exc)})

    # ----------------------------------------------------------------- sessions

    def _session(self, environ: dict[str, Any]) -> Session | None:
        cookies = auth.parse_cookies(environ.get("HTTP_COOKIE", ""))
        return auth.session_from_cookie(self.secret, cookies.get(auth.SESSION_COOKIE), self.clock())

    def _cookie(self, environ: dict[str, Any], name: str, value: str, max_age_s: float) -> tuple[str, str]:
        secure = environ.get("wsgi.url_scheme") == "https"
        return ("Set-Cookie", auth.cookie_header(name, value, max_age_s=max_age_s, secure=secure))

    def _check_csrf(self, environ: dict[str, Any], session: Session) -> None:
        given = environ.get("HTTP_X_CSRF_TOKEN", "")
        if not given or not auth.same_secret(given, session.csrf):
            raise BadRequest("403 Forbidden", "missing or wrong CSRF token (X-CSRF-Token); reload the page")

    def _login(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        now = self.clock()
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if environ["REQUEST_METHOD"] == "GET":
            token = query.get("token", [""])[0]
            if token and self.credentials.role_for(token) is Role.ADMIN and self.credentials.token:
                return self._open_session(environ, start_response, Role.ADMIN, "token link")
            return self._login_page(environ, start_response, "200 OK", "")
        if environ["REQUEST_METHOD"] != "POST":
            raise BadRequest("405 Method Not Allowed", "login takes GET or POST")
        form = self._form(environ)
        cookies = auth.parse_cookies(environ.get("HTTP_COOKIE", ""))
        pending = auth.unseal(self.secret, cookies.get(auth.LOGIN_COOKIE, ""), now)
        if pending is None or not auth.same_secret(form.get("csrf", ""), str(pending.get("c", ""))):
            return self._login_page(
                environ, start_response, "403 Forbidden", "The login form expired; please try again."
            )
        # scrypt takes ~50 ms of CPU: in the hub's thread pool (it releases the GIL), so the live
        # streams keep flowing while someone logs in; a failure answers only after a delay, which
        # makes guessing slow without slowing anyone else.
        role = gevent.get_hub().threadpool.apply(self.credentials.role_for, (form.get("password", ""),))
        if role is None:
            gevent.sleep(FAILED_LOGIN_DELAY_S)
            log.warning("login refused from %s: wrong password", environ.get("REMOTE_ADDR"))
            return self._login_page(environ, start_response, "401 Unauthorized", "Wrong password or token.")
        return self._open_session(environ, start_response, role, "password")

    def _open_session(
        self, environ: dict[str, Any], start_response: Callable[..., Any], role: Role, how: str
    ) -> Iterable[bytes]:
        session = auth.new_session(role, self.clock())
        log.info("login as %s from %s (%s)", role.value, environ.get("REMOTE_ADDR"), how)
        cookie = auth.session_cookie_value(self.secret, session)
        return self._redirect(
            start_response, "./", [self._cookie(environ, auth.SESSION_COOKIE, cookie, auth.SESSION_TTL_S)]
        )

    def _login_page(
        self, environ: dict[str, Any], start_response: Callable[..., Any], status: str, error: str
    ) -> Iterable[bytes]:
        csrf = auth.new_session(Role.VIEWER, 0).csrf
        sealed = auth.seal(self.secret, {"c": csrf, "exp": self.clock() + auth.LOGIN_TTL_S})
        body = LOGIN_PAGE.format(csrf=html.escape(csrf), error=html.escape(error)).encode()
        headers = [self._cookie(environ, auth.LOGIN_COOKIE, sealed, auth.LOGIN_TTL_S)]
        return self._respond(start_response, status, body, "index.html", headers)

    # ----------------------------------------------------------------- data

    def state(self, session: Session) -> dict[str, Any]:
        return {
            "cursor": self.channel.cursor,
            "role": session.role.value,
            "user": session.user,
            "csrf": session.csrf,
            "daemons": [daemon.snapshot() for daemon in self.daemons],
        }

    def _daemon(self, index: object) -> DaemonView:
        if not isinstance(index, int) or not 0 <= index < len(self.daemons):
            raise BadRequest("400 Bad Request", f"no daemon {index!r} (0 to {len(self.daemons) - 1})")
        return self.daemons[index]

    def _watcher(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        daemon = self._daemon(_integer(query, "d", 0))
        detail = daemon.watcher_detail(query.get("name", ""))
        if detail is None:
            raise BadRequest("404 Not Found", f"no watcher {query.get('name', '')!r} on {daemon.endpoint}")
        return self._json(start_response, "200 OK", detail)

    def _live(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        last = environ.get("HTTP_LAST_EVENT_ID") or query.get("since") or ""
        try:
            parse_cursor(last)
        except ValueError as exc:
            raise BadRequest("400 Bad Request", f"Last-Event-ID or since: {exc}") from None
        headers = [
            ("Content-Type", "text/event-stream"),
            ("Cache-Control", "no-store"),
            ("X-Accel-Buffering", "no"),  # nginx: pass each event on at once
            *SECURITY_HEADERS,
        ]
        start_response("200 OK", headers)
        return self.channel.follow(last)

    def _action(
        self, environ: dict[str, Any], start_response: Callable[..., Any], session: Session
    ) -> Iterable[bytes]:
        if session.role is not Role.ADMIN:
            raise BadRequest(
                "403 Forbidden", "this session is read-only (viewer): actions need the admin password"
            )
        request = self._json_body(environ)
        command = request.get("command")
        if command not in ACTIONS:
            raise BadRequest("400 Bad Request", f"unknown action {command!r} (one of {', '.join(ACTIONS)})")
        daemon = self._daemon(_integer(request, "d", 0))
        properties = {key: request[key] for key in ACTIONS[command] if request.get(key) not in (None, "")}
        for key in INTEGER_FIELDS:
            if key in properties:
                properties[key] = _integer(properties, key, None)
        if command == "numprocesses":
            command, properties = (
                "set",
                {
                    "name": properties.get("name"),
                    "options": {"numprocesses": properties.get("count")},
                },
            )
        if get_command(command).takes_waiting:
            properties["waiting"] = True  # reply once done (the page shows the progress meanwhile)
        who = f"{session.user}@{environ.get('REMOTE_ADDR')}"
        log.info("action by %s on %s: %s %s", who, daemon.endpoint, command, json.dumps(properties))
        try:
            reply = daemon.call(command, timeout=ACTION_TIMEOUT_S, **properties)
        except CallError as exc:
            log.warning("action by %s: %s failed: %s", who, command, exc)
            return self._json(start_response, "502 Bad Gateway", {"error": str(exc)})
        log.info("action by %s: %s -> %s", who, command, json.dumps(reply))
        return self._json(start_response, "200 OK", {"reply": reply})

    # ----------------------------------------------------------------- plumbing

    def _body(self, environ: dict[str, Any]) -> bytes:
        length = environ.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise BadRequest("413 Content Too Large", f"a body of at most {MAX_BODY_BYTES} bytes is accepted")
        return environ["wsgi.input"].read(int(length))

    def _form(self, environ: dict[str, Any]) -> dict[str, str]:
        text = self._body(environ).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    def _json_body(self, environ: dict[str, Any]) -> dict[str, Any]:
        try:
            data = json.loads(self._body(environ) or b"null")
        except ValueError as exc:
            raise BadRequest("400 Bad Request", f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadRequest("400 Bad Request", 'the body must be a JSON object such as {"command": "incr"}')
        return data

    def _serve_static(self, name: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if name not in self.static or name == "index.html":
            raise BadRequest("404 Not Found", f"no static file {name!r}")
        return self._respond(
            start_response, "200 OK", self.static[name], name, [("Cache-Control", "no-cache")]
        )

    def _respond(
        self,
        start_response: Callable[..., Any],
        status: str,
        body: bytes,
        kind: str,
        headers: list[tuple[str, str]] | None = None,
    ) -> Iterable[bytes]:
        start_response(
            status,
            [("Content-Type", STATIC_TYPES[kind]), ("Content-Length", str(len(body))), *SECURITY_HEADERS]
            + (headers or []),
        )
        return [body]

    def _json(self, start_response: Callable[..., Any], status: str, data: dict[str, Any]) -> Iterable[bytes]:
        body = json.dumps(data, separators=(",", ":")).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                *SECURITY_HEADERS,
            ],
        )
        return [body]

    def _redirect(
        self, start_response: Callable[..., Any], location: str, headers: list[tuple[str, str]] | None = None
    ) -> Iterable[bytes]:
        # Relative, so it stays under a proxy's prefix (/circus/).
        start_response("303 See Other", [("Location", location), ("Content-Length", "0"), *(headers or [])])
        return [b""]


def _integer(data: dict[str, Any], key: str, default: int | None) -> int | None:
    value = data.get(key, default)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise BadRequest("400 Bad Request", f"{key} must be an integer, not {value!r}")
