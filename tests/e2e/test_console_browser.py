"""The console as a person uses it: a real circusd, circushttpd, and the system's headless Chromium.

One daemon and one browser for the whole module (a browser costs seconds to start); the steps run in
order, each test leaving the page where the next one starts. Screenshots of each page go to
test-artifacts/console/.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from circus_web_stack.testing.harness import Daemon
from circus_web_stack.testing.waiting import wait_until
from circus_web_stack.web.auth import hash_password
from tests.e2e.console import Console, install_chromium, open_browser, screenshot

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "console-admin-pw"
VIEWER_PASSWORD = "console-viewer-pw"
HOSTILE_LINE = "<script>window.pwned=1</script><b>bold?</b>"
APP = textwrap.dedent(
    f"""
    import os, time
    n = 0
    while True:
        n += 1
        print(f"hello from {{os.getpid()}} line {{n}}", flush=True)
        if n % 3 == 0:
            print({HOSTILE_LINE!r}, flush=True)
        time.sleep(0.5)
    """
)


@pytest.fixture(scope="module")
def chromium() -> str:
    path, why = install_chromium()
    if path is None:
        pytest.skip(why)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory, chromium):
    workdir = tmp_path_factory.mktemp("console")
    (workdir / "app.py").write_text(APP)
    ini = f"""
        [circus]
        statsd = true
        stats_interval = 0.5

        [watcher:app]
        cmd = {sys.executable} {workdir / "app.py"}
        numprocesses = 2
        graceful_timeout = 2
        stdout_stream.class = FileStream
        stdout_stream.filename = {workdir / "app.out"}
    """
    daemon = Daemon(workdir, ini).start()
    console = None
    driver = None
    try:
        daemon.wait_running(20)
        console = Console(
            workdir,
            ["--endpoint", daemon.endpoint, "--no-token", "--secret-file", str(workdir / "secret")],
            env={
                "CIRCUSHTTPD_PASSWORD_HASH": hash_password(ADMIN_PASSWORD),
                "CIRCUSHTTPD_READONLY_PASSWORD_HASH": hash_password(VIEWER_PASSWORD),
            },
        )
        driver = open_browser(chromium)
        yield daemon, console, driver
    finally:
        if driver is not None:
            driver.quit()
        if console is not None:
            console.stop()
        assert daemon.close() == []


def _by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


# The page re-renders on every update, so elements go stale between two selenium calls: read and
# click in one script each.
def _texts(driver, selector: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent)", selector
    )


def _text(driver, selector: str) -> str:
    texts = _texts(driver, selector)
    return texts[0] if texts else ""


def _attribute(driver, selector: str, name: str) -> str | None:
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e && e.getAttribute(arguments[1])",
        selector,
        name,
    )


def _click(driver, selector: str) -> None:
    assert driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e", selector
    ), f"nothing to click at {selector}"


def _log_in(driver, url: str, password: str) -> None:
    driver.get(url + "login")
    field = wait_until(lambda: (_by_css(driver, "input[name=password]") or [None])[0], 10, "the login form")
    field.send_keys(password)
    _by_css(driver, "button[type=submit]")[0].click()


def _severe_console_messages(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _pids(driver) -> set[int]:
    return {
        int(pid)
        for pid in driver.execute_script(
            "return [...document.querySelectorAll('#procs tbody tr')].map((r) => r.dataset.pid)"
        )
    }


def test_wrong_password_is_refused(stack):
    _, console, driver = stack
    _log_in(driver, console.url, "not-the-password")
    wait_until(lambda: _text(driver, "#login-error") or None, 10, "the login error")
    assert _text(driver, "#login-error") == "Wrong password or token."
    assert driver.current_url.endswith("/login")
    screenshot(driver, "01-login-refused")
    driver.get_log("browser")  # the refused POST's 401 is logged on purpose; what follows must be clean


def test_log_in_and_see_processes(stack):
    _, console, driver = stack
    _log_in(driver, console.url, ADMIN_PASSWORD)
    card = ".watcher-card[data-watcher=app] .proc-count"
    wait_until(lambda: _text(driver, card) == "2" or None, 10, "2 processes on the overview")
    screenshot(driver, "02-overview")


def test_chart_advances(stack):
    _, _, driver = stack

    def points() -> int:
        return int(_attribute(driver, ".watcher-card[data-watcher=app] canvas.chart", "data-points") or 0)

    first = wait_until(lambda: points() or None, 10, "a chart with points")
    wait_until(lambda: points() >= first + 2 or None, 10, "the chart to advance two points")


def test_watcher_page_lists_the_processes(stack):
    daemon, console, driver = stack
    driver.get(console.url + "#/w/0/app")
    expected = set(daemon.call("list", name="app")["pids"])
    wait_until(lambda: _pids(driver) == expected or None, 10, f"rows for pids {expected}")
    assert set(_texts(driver, "#procs tbody tr td:nth-child(2)")) == {"1", "2"}
    assert set(_texts(driver, "#procs tbody tr td.ready")) == {"yes"}
    screenshot(driver, "03-watcher")


def test_incr_shows_the_new_pid(stack):
    daemon, console, driver = stack
    before = _pids(driver)
    _click(driver, "button[data-action=incr]")
    wait_until(lambda: len(_pids(driver)) == 3 or None, 20, "a third process row")
    new = _pids(driver) - before
    assert new and new <= set(daemon.call("list", name="app")["pids"])
    wait_until(
        lambda: "numprocesses" in _text(driver, "#reply") or None,
        20,
        f"incr's reply (the page shows {_text(driver, '#reply')!r}); log: {console.log()[-1500:]}",
    )
    assert json.loads(_text(driver, "#reply"))["numprocesses"] == 3


def test_reload_shows_progress(stack):
    _, _, driver = stack
    before = _pids(driver)
    _click(driver, "button[data-action=reload]")
    wait_until(lambda: "reload" in _text(driver, "#reload-progress") or None, 30, "the reload progress")
    wait_until(lambda: (len(_pids(driver)) == 3 and not (_pids(driver) & before)) or None, 60, "3 new pids")
    wait_until(lambda: "reload done" in _text(driver, "#reload-progress") or None, 30, "the reload done")
    screenshot(driver, "04-reloaded")


def test_tail_shows_lines_as_text(stack):
    _, _, driver = stack
    wait_until(
        lambda: any("hello from" in line for line in _texts(driver, "#tail .line")) or None,
        20,
        "a printed line in the tail",
    )
    wait_until(
        lambda: any(HOSTILE_LINE in line for line in _texts(driver, "#tail .line")) or None,
        20,
        "the line with HTML shown as its characters",
    )
    assert _texts(driver, "#tail script, #tail b") == []
    assert driver.execute_script("return window.pwned === undefined")
    _click(driver, "#reply-close")
    driver.execute_script("document.getElementById('tail').scrollIntoView()")
    screenshot(driver, "05-tail")


def test_post_without_csrf_is_refused(stack):
    daemon, _, driver = stack
    # every page so far ran without a JavaScript error, a CSP violation or a failed load
    assert _severe_console_messages(driver) == []
    status = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch("api/action", {method: "POST", body: JSON.stringify({command: "incr", name: "app"})})
          .then((r) => done(r.status));"""
    )
    assert status == 403
    assert len(daemon.call("list", name="app")["pids"]) == 3


def test_viewer_sees_but_cannot_act(stack):
    _, console, driver = stack
    driver.delete_all_cookies()
    _log_in(driver, console.url, VIEWER_PASSWORD)
    wait_until(lambda: _texts(driver, ".watcher-card[data-watcher=app]") or None, 10, "the overview")
    assert driver.execute_script(
        "return [...document.querySelectorAll('button[data-action]')].every((b) => b.offsetParent === null)"
    ), "a viewer sees action buttons"
    status = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch("api/state").then((r) => r.json()).then((s) => fetch("api/action", {method: "POST",
          headers: {"X-CSRF-Token": s.csrf}, body: JSON.stringify({command: "incr", name: "app"})}))
          .then((r) => done(r.status));"""
    )
    assert status == 403
    screenshot(driver, "06-viewer")
