"""The console as a person uses it: a real circusd, circushttpd, and the system's headless Chromium.

One daemon and one browser for the whole module (a browser costs seconds to start); the steps run in
order, each test leaving the page where the next one starts. Screenshots of each page go to
test-artifacts/console/.
"""

from __future__ import annotations

import json
import re

import pytest

from circus_web_stack.testing.waiting import wait_until
from tests.e2e.console import (
    ADMIN_PASSWORD,
    HOSTILE_LINE,
    VIEWER_PASSWORD,
    attribute,
    click,
    console_stack,
    log_in,
    pids,
    screenshot,
    severe_console_messages,
    text,
    texts,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory, chromium):
    with console_stack(tmp_path_factory.mktemp("console"), chromium) as running:
        yield running


def test_wrong_password_is_refused(stack):
    _, console, driver = stack
    log_in(driver, console.url, "not-the-password")
    wait_until(lambda: text(driver, "#login-error") or None, 10, "the login error")
    assert text(driver, "#login-error") == "Wrong password or token."
    assert driver.current_url.endswith("/login")
    screenshot(driver, "01-login-refused")
    driver.get_log("browser")  # the refused POST's 401 is logged on purpose; what follows must be clean


def test_log_in_and_see_processes(stack):
    _, console, driver = stack
    log_in(driver, console.url, ADMIN_PASSWORD)
    card = ".watcher-card[data-watcher=app]"
    wait_until(lambda: text(driver, card + " .proc-count") == "2" or None, 10, "2 processes on the overview")
    wait_until(
        lambda: text(driver, card + " .watcher-sockets").startswith("sockets web 127.0.0.1:") or None,
        10,
        "the socket the watcher uses",
    )
    screenshot(driver, "02-overview")


def test_chart_advances(stack):
    _, _, driver = stack

    def points() -> int:
        return int(attribute(driver, ".watcher-card[data-watcher=app] canvas.chart", "data-points") or 0)

    first = wait_until(lambda: points() or None, 10, "a chart with points")
    wait_until(lambda: points() >= first + 2 or None, 10, "the chart to advance two points")


def test_watcher_page_lists_the_processes(stack):
    daemon, console, driver = stack
    driver.get(console.url + "#/w/0/app")
    expected = set(daemon.call("list", name="app")["pids"])
    wait_until(lambda: pids(driver) == expected or None, 10, f"rows for pids {expected}")
    assert set(texts(driver, "#procs tbody tr td:nth-child(2)")) == {"1", "2"}
    assert set(texts(driver, "#procs tbody tr td.ready")) == {"yes"}
    screenshot(driver, "03-watcher")


def test_incr_shows_the_new_pid(stack):
    daemon, console, driver = stack
    before = pids(driver)
    click(driver, "button[data-action=incr]")
    wait_until(lambda: len(pids(driver)) == 3 or None, 20, "a third process row")
    new = pids(driver) - before
    assert new and new <= set(daemon.call("list", name="app")["pids"])
    wait_until(
        lambda: "numprocesses" in text(driver, "#reply") or None,
        20,
        f"incr's reply (the page shows {text(driver, '#reply')!r}); log: {console.log()[-1500:]}",
    )
    assert json.loads(text(driver, "#reply"))["numprocesses"] == 3
    assert "action by admin@127.0.0.1 on " in console.log()
    assert re.search(r"action by admin@127\.0\.0\.1: incr -> \{\"status\": \"ok\"", console.log())


def test_an_error_reply_is_shown_verbatim(stack):
    daemon, _, driver = stack
    driver.execute_script(
        "const c = document.getElementById('set-count'); c.value = '-1'; c.dispatchEvent(new Event('input'))"
    )
    click(driver, "button[data-action=numprocesses]")
    wait_until(lambda: "error" in (attribute(driver, "#reply", "class") or "") or None, 20, "the error reply")
    shown = json.loads(text(driver, "#reply"))
    direct = daemon.call("set", name="app", options={"numprocesses": -1})
    assert shown["status"] == "error" and shown["reason"] == direct["reason"]
    assert len(daemon.call("list", name="app")["pids"]) == 3


def test_reload_shows_progress(stack):
    _, _, driver = stack
    before = pids(driver)
    click(driver, "button[data-action=reload]")
    wait_until(lambda: "reload" in text(driver, "#reload-progress") or None, 30, "the reload progress")
    wait_until(lambda: (len(pids(driver)) == 3 and not (pids(driver) & before)) or None, 60, "3 new pids")
    wait_until(lambda: "reload done" in text(driver, "#reload-progress") or None, 30, "the reload done")
    screenshot(driver, "04-reloaded")


def test_tail_shows_lines_astext(stack):
    _, _, driver = stack
    wait_until(
        lambda: any("hello from" in line for line in texts(driver, "#tail .line")) or None,
        20,
        "a printed line in the tail",
    )
    wait_until(
        lambda: any(HOSTILE_LINE in line for line in texts(driver, "#tail .line")) or None,
        20,
        "the line with HTML shown as its characters",
    )
    assert texts(driver, "#tail script, #tail b") == []
    assert driver.execute_script("return window.pwned === undefined")
    click(driver, "#reply-close")
    driver.execute_script("document.getElementById('tail').scrollIntoView()")
    screenshot(driver, "05-tail")


def test_tail_filters_and_pauses(stack):
    _, _, driver = stack
    driver.execute_script(
        "const f = document.getElementById('tail-filter'); f.value = 'bold?';"
        "f.dispatchEvent(new Event('input'))"
    )
    wait_until(
        lambda: (lambda lines: lines and all("bold?" in line for line in lines))(
            texts(driver, "#tail .line")
        ),
        10,
        "only the matching lines",
    )
    click(driver, "#tail-pause")
    held = texts(driver, "#tail .line")
    wait_until(lambda: text(driver, "#tail-pause") == "resume" or None, 5, "the paused tail")
    assert texts(driver, "#tail .line")[: len(held)] == held
    click(driver, "#tail-pause")
    driver.execute_script(
        "const f = document.getElementById('tail-filter'); f.value = ''; f.dispatchEvent(new Event('input'))"
    )


def test_a_process_has_its_own_chart(stack):
    _, _, driver = stack
    pid = sorted(pids(driver))[0]
    click(driver, f"#procs tbody tr[data-pid='{pid}']")
    wait_until(lambda: text(driver, "#process-chart h3") == f"pid {pid}" or None, 10, "the pid's chart")
    wait_until(
        lambda: int(attribute(driver, "#process-chart canvas", "data-points") or 0) >= 2 or None,
        10,
        "points on the pid's chart",
    )


def test_mobile_and_dark(stack):
    _, console, driver = stack
    driver.set_window_size(390, 844)
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    driver.get(console.url + "#/")
    wait_until(
        lambda: text(driver, ".watcher-card[data-watcher=app] .proc-count") or None, 10, "the overview"
    )
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 23, 27)"
    screenshot(driver, "09-mobile-dark")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    driver.set_window_size(1280, 900)
    driver.get(console.url + "#/w/0/app")


def test_events_list_spawns_and_reaps(stack):
    _, console, driver = stack
    driver.get(console.url + "#/events")
    wait_until(
        lambda: (
            lambda lines: any(" spawn pid=" in x for x in lines) and any(" reap pid=" in x for x in lines)
        )(texts(driver, ".events li")),
        10,
        "spawn and reap events",
    )
    assert any("killed by SIGTERM (asked to stop)" in x or "exit" in x for x in texts(driver, ".events li"))
    screenshot(driver, "10-events")
    driver.get(console.url + "#/w/0/app")


def test_post_without_csrf_is_refused(stack):
    daemon, _, driver = stack
    # every page so far ran without a JavaScript error, a CSP violation or a failed load
    assert severe_console_messages(driver) == []
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
    log_in(driver, console.url, VIEWER_PASSWORD)
    wait_until(lambda: texts(driver, ".watcher-card[data-watcher=app]") or None, 10, "the overview")
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


def test_sockets_show_queue_backlog_and_rate(stack):
    _, console, driver = stack
    driver.get(console.url + "#/sockets")
    row = "#sockets-0 tbody tr"
    wait_until(lambda: text(driver, row + " td.rate") or None, 15, "an accepted/s figure")
    cells = texts(driver, row + " td")
    assert cells[0] == "web" and cells[1].startswith("127.0.0.1:")
    assert cells[2] == "0" and cells[3] == "64"
    screenshot(driver, "08-sockets")


def test_a_fleet_shows_a_node_column_and_filter_and_a_node_going_away(stats_fleet, chromium, tmp_path):
    """circushttpd --fleet: every node's watchers from its own streams, the node filter, and a node
    that goes away shown down, then back."""
    from circus_web_stack.web.auth import hash_password
    from tests.e2e.console import Console, open_browser

    console = Console(
        tmp_path,
        [
            "--fleet",
            str(stats_fleet.workdir / "fleet.ini"),
            "--no-token",
            "--secret-file",
            str(tmp_path / "s"),
        ],
        env={"CIRCUSHTTPD_PASSWORD_HASH": hash_password(ADMIN_PASSWORD)},
    )
    driver = open_browser(chromium)
    try:
        log_in(driver, console.url, ADMIN_PASSWORD)
        cards = ".watcher-card[data-watcher=web]"
        wait_until(
            lambda: sorted(texts(driver, cards + " .node")) == ["node1", "node2"] or None,
            20,
            "a web card per node",
        )
        assert texts(driver, "h2.node-heading") == ["node1up", "node2up"]
        wait_until(
            lambda: set(texts(driver, cards + " .proc-count")) == {"1"} or None, 20, "1 process on each node"
        )
        screenshot(driver, "10-fleet")
        choose_node(driver, "node2")
        wait_until(lambda: texts(driver, cards + " .node") == ["node2"] or None, 10, "only node2's card")
        choose_node(driver, "")
        node2 = stats_fleet.nodes[1].daemon
        assert node2.close() == []
        wait_until(lambda: "node2 is down" in text(driver, "#banner") or None, 20, "node2 shown down")
        screenshot(driver, "11-fleet-node-down")
        node2.start()
        wait_until(
            lambda: attribute(driver, "#banner", "hidden") is not None or None, 30, "node2 back (no banner)"
        )
        wait_until(
            lambda: sorted(texts(driver, cards + " .node")) == ["node1", "node2"] or None, 20, "node2's card"
        )
    finally:
        driver.quit()
        console.stop()


def choose_node(driver, node: str) -> None:
    """The node filter set as a person picks an option: the select's change event."""
    driver.execute_script(
        "const s = document.getElementById('node-filter'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('change'))",
        node,
    )
