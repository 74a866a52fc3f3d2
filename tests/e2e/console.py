"""The console for the end-to-end tests: circushttpd started by hand (stopped by the pid we started)
and a headless Chromium from the system's packages, driven by selenium through Debian's chromedriver
(never a downloaded driver). Screenshots go to ARTIFACTS_DIR for a person to look at.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from circus_web_stack.testing.harness import Daemon
from circus_web_stack.testing.os_packages import ensure_installed
from circus_web_stack.testing.waiting import wait_until
from circus_web_stack.web.auth import hash_password

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(os.environ.get("CONSOLE_ARTIFACTS_DIR", ROOT / "test-artifacts" / "console"))
CHROMEDRIVER = "/usr/bin/chromedriver"
SERVING = re.compile(r"serving the console of .* on (?P<url>http://\S+/)")
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


def find_chromium() -> str | None:
    if not os.access(CHROMEDRIVER, os.X_OK):
        return None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def install_chromium() -> tuple[str | None, str]:
    """Chromium's path (with /usr/bin/chromedriver beside it), from apt when missing."""
    return ensure_installed(["chromium", "chromium-driver"], find_chromium)


class Console:
    """`circushttpd ARGS` in its own session; `url` once it serves. `restart()` starts it again on the
    same port (the same secret file keeps the browser's session valid)."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.log_path = workdir / "circushttpd.log"
        self.args = args
        self.env = dict(os.environ, **(env or {}))
        self.port = 0
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "circus_web_stack.cli.circushttpd", "--port", str(self.port), *self.args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "wb"),  # noqa: SIM115
            start_new_session=True,
        )
        match = wait_until(
            lambda: SERVING.search(self.log()) or self._died(),
            20,
            f"circushttpd serving\n{self.log()[-2000:]}",
        )
        self.url: str = match["url"]
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])

    def restart(self) -> None:
        self.stop()
        self._start()

    def _died(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"circushttpd exited {self.proc.returncode}:\n{self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def open_browser(chromium: str):  # -> selenium.webdriver.Chrome
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def screenshot(driver, name: str) -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


class Stack(NamedTuple):
    daemon: Daemon
    console: Console
    driver: Chrome


@contextlib.contextmanager
def console_stack(workdir: Path, chromium: str, console_args: tuple[str, ...] = ()) -> Iterator[Stack]:
    """A circusd running APP twice, circushttpd on it (the admin and read-only passwords, no token)
    and a browser; all stopped at the end, by the pids started."""
    (workdir / "app.py").write_text(APP)
    ini = f"""
        [circus]
        statsd = true
        stats_interval = 0.5

        [watcher:app]
        cmd = {sys.executable} {workdir / "app.py"} --fd $(circus.sockets.web)
        numprocesses = 2
        graceful_timeout = 2
        stdout_stream.class = FileStream
        stdout_stream.filename = {workdir / "app.out"}

        [socket:web]
        host = 127.0.0.1
        port = 0
        backlog = 64
    """
    daemon = Daemon(workdir, ini).start()
    console = None
    driver = None
    try:
        daemon.wait_running(20)
        console = Console(
            workdir,
            [
                "--endpoint",
                daemon.endpoint,
                "--no-token",
                "--secret-file",
                str(workdir / "secret"),
                *console_args,
            ],
            env={
                "CIRCUSHTTPD_PASSWORD_HASH": hash_password(ADMIN_PASSWORD),
                "CIRCUSHTTPD_READONLY_PASSWORD_HASH": hash_password(VIEWER_PASSWORD),
            },
        )
        driver = open_browser(chromium)
        yield Stack(daemon, console, driver)
    finally:
        if driver is not None:
            driver.quit()
        if console is not None:
            console.stop()
        assert daemon.close() == []


def by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


# The page re-renders on every update, so elements go stale between two selenium calls: read and
# click in one script each.
def texts(driver, selector: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent)", selector
    )


def text(driver, selector: str) -> str:
    found = texts(driver, selector)
    return found[0] if found else ""


def attribute(driver, selector: str, name: str) -> str | None:
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e && e.getAttribute(arguments[1])",
        selector,
        name,
    )


def click(driver, selector: str) -> None:
    assert driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e", selector
    ), f"nothing to click at {selector}"


def log_in(driver, url: str, password: str) -> None:
    driver.get(url + "login")
    field = wait_until(lambda: (by_css(driver, "input[name=password]") or [None])[0], 10, "the login form")
    field.send_keys(password)
    by_css(driver, "button[type=submit]")[0].click()


def severe_console_messages(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def pids(driver) -> set[int]:
    return {
        int(pid)
        for pid in driver.execute_script(
            "return [...document.querySelectorAll('#procs tbody tr')].map((r) => r.dataset.pid)"
        )
    }
