"""The console behind the real nginx under /circus/, with the block docs/deploy.md gives (taken from
the doc, so the doc cannot drift from what works): log in, see the live stream advance through the
proxy, act, and catch up without a page reload after circushttpd restarted behind the proxy."""

from __future__ import annotations

import pytest

from circus_web_stack.testing.recipes import recipe
from circus_web_stack.testing.waiting import wait_until
from tests.e2e.console import (
    ADMIN_PASSWORD,
    attribute,
    click,
    console_stack,
    log_in,
    pids,
    screenshot,
    severe_console_messages,
    text,
)
from tests.e2e.nginx import Nginx

pytestmark = pytest.mark.slow

DOC_UPSTREAM = "http://127.0.0.1:8080/"


def deploy_doc_block() -> str:
    block = recipe("deploy-console-nginx").text
    assert block.count(DOC_UPSTREAM) == 1, f"the block should proxy to {DOC_UPSTREAM} once"
    return block


def test_behind_nginx_under_a_prefix(tmp_path, chromium, nginx_binary):
    with console_stack(tmp_path, chromium) as (daemon, console, driver):
        block = deploy_doc_block().replace(DOC_UPSTREAM, console.url)
        nginx = Nginx(nginx_binary, tmp_path / "nginx").start_site(
            lambda port: f"server {{\n    listen 127.0.0.1:{port};\n{block}}}\n"
        )
        try:
            base = nginx.base_url + "/circus/"
            log_in(driver, base, ADMIN_PASSWORD)
            card = ".watcher-card[data-watcher=app]"
            wait_until(
                lambda: text(driver, card + " .proc-count") == "2" or None, 15, "the overview via nginx"
            )
            assert driver.current_url == base
            wait_until(lambda: text(driver, "#live") == "live" or None, 10, "the live stream via nginx")

            def points() -> int:
                return int(attribute(driver, card + " canvas.chart", "data-points") or 0)

            first = wait_until(lambda: points() or None, 10, "chart points")
            wait_until(lambda: points() >= first + 2 or None, 10, "ticks through nginx's proxy")
            driver.get(base + "#/w/0/app")
            wait_until(lambda: len(pids(driver)) == 2 or None, 10, "the process rows")
            click(driver, "button[data-action=incr]")
            wait_until(lambda: len(pids(driver)) == 3 or None, 20, "the new pid through the proxy")
            screenshot(driver, "07-behind-nginx")
            assert severe_console_messages(driver) == []

            console.restart()  # the live stream is cut; nginx answers 502 until it is back
            daemon.call("decr", name="app", waiting=True)
            wait_until(lambda: len(pids(driver)) == 2 or None, 30, "the page to catch up after the restart")
            wait_until(lambda: text(driver, "#live") == "live" or None, 10, "the live stream again")
            assert driver.current_url == base + "#/w/0/app"
            # what failed meanwhile is the cut live stream and the proxy's 502s, nothing else
            messages = severe_console_messages(driver)
            expected = ("502", "api/live?since=")
            assert all(any(word in message for word in expected) for message in messages), messages
        finally:
            nginx.stop()
