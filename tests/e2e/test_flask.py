"""The Flask example straight on circusd's socket (no nginx): pages, a form POST with its CSRF token,
static files, and rolling reloads under load with no failed request."""

from __future__ import annotations

import uuid

import pytest

from circus_web_stack.testing.waiting import wait_until
from tests.e2e.clients import Browser, LoadRun
from tests.e2e.examples import FLASK_DIR, start_example, stop_example, tracebacks


@pytest.fixture(scope="module")
def flask_app(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("flask")
    env = {"FLASK_DB_PATH": str(workdir / "notes.sqlite3"), "FLASK_SECRET_KEY": "e2e-tests-only-" + "y" * 40}
    app = start_example(workdir / "circusd", FLASK_DIR, env)
    yield app
    stop_example(app)


def browser_for(app, keepalive: bool = True, retry_stale: bool = False) -> Browser:
    return Browser(app.host, app.port, keepalive=keepalive, retry_stale=retry_stale)


def test_page_and_static_file(flask_app):
    page = browser_for(flask_app).get("/")
    assert page.status == 200 and 'name="csrf_token"' in page.body
    css = browser_for(flask_app).get("/static/style.css")
    assert css.status == 200
    assert css.body == (FLASK_DIR / "static" / "style.css").read_text()
    health = browser_for(flask_app).get("/healthz")
    assert health.status == 200 and '"status":"ok"' in health.body.replace(" ", "")


def test_circusd_stats_runs_for_the_circus_top_the_banner_suggests(flask_app):
    assert flask_app.circusctl("status") == "circusd-stats: active\nweb: active\n"
    assert (flask_app.daemon.runtime_dir / "stats.sock").is_socket()


def test_post_with_csrf_token_creates_a_note(flask_app):
    browser = browser_for(flask_app)
    name, token = browser.form_token("/")
    text = f"flask note {uuid.uuid4().hex}"
    created = browser.post_form("/", {name: token, "author": "e2e", "text": text})
    assert created.status == 302 and created.header("location") == "/"
    page = browser.get("/")
    assert text in page.body and "saved." in page.body
    invalid = browser.post_form("/", {name: token, "author": "", "text": ""})
    assert invalid.status == 400 and "Who are you?" in invalid.body


def test_post_without_the_token_is_refused(flask_app):
    browser = browser_for(flask_app)
    browser.form_token("/")
    assert browser.post_form("/", {"author": "x", "text": "no token"}).status == 403
    assert (
        browser_for(flask_app).post_form("/", {"csrf_token": "guess", "author": "x", "text": "y"}).status
        == 403
    )


def test_slow_view(flask_app):
    slow = browser_for(flask_app).get("/slow/?seconds=0.2")
    assert slow.status == 200 and slow.body.startswith("slept 0.2")


@pytest.mark.slow
def test_rolling_reloads_under_load_fail_no_request(flask_app):
    """20 clients (10 keep-alive) straight on circusd's socket while `reload web --waiting` runs twice."""
    before = set(map(int, flask_app.circusctl("list", "web").strip().split(",")))
    load = LoadRun(
        # Without nginx, clients meet the workers' keep-alive closes themselves: like browsers, they
        # resend a request once when a reused connection was closed before any answer came back.
        lambda keepalive: browser_for(flask_app, keepalive, retry_stale=True),
        clients=20,
        keepalive=10,
        post_every=10,
        post_fields={"author": "load"},
        rate=10,
        duration_s=60,
    ).start()
    try:
        wait_until(lambda: load.successes() >= 50, 30, "load flowing before the reload")
        first = flask_app.circusctl("--table", "reload", "web", "--waiting")
        second = flask_app.circusctl("--table", "reload", "web", "--waiting")
        ok_after_reloads = load.successes()
        # Enough requests served after the reloads, however fast they went (not a timing assumption).
        wanted = max(ok_after_reloads + 50, 201)
        wait_until(lambda: load.successes() >= wanted, 30, "load served after the reloads")
    finally:
        report = load.stop()
    after = set(map(int, flask_app.circusctl("list", "web").strip().split(",")))
    details = f"{report.summary()}\n{first}\n{second}\ncircusd log tail:\n{flask_app.daemon.log()[-4000:]}"
    print(details)
    assert report.failed == 0, details
    assert report.ok > 200, details
    assert len(after) == flask_app.numprocesses and not before & after
    assert not tracebacks(flask_app.worker_log("web")), flask_app.worker_log("web")[-3000:]
