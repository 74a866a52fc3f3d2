"""The console for the end-to-end tests: circushttpd started by hand (stopped by the pid we started)
and a headless Chromium from the system's packages, driven by selenium through Debian's chromedriver
(never a downloaded driver). Screenshots go to ARTIFACTS_DIR for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from circus_web_stack.testing.waiting import wait_until
from tests.e2e.system_packages import ensure_installed

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(os.environ.get("CONSOLE_ARTIFACTS_DIR", ROOT / "test-artifacts" / "console"))
CHROMEDRIVER = "/usr/bin/chromedriver"
SERVING = re.compile(r"serving the console of .* on (?P<url>http://\S+/)")


def find_chromium() -> str | None:
    if not os.access(CHROMEDRIVER, os.X_OK):
        return None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def install_chromium() -> tuple[str | None, str]:
    """Chromium's path (with /usr/bin/chromedriver beside it), from apt when missing."""
    return ensure_installed(["chromium", "chromium-driver"], find_chromium)


class Console:
    """`circushttpd ARGS` in its own session; `url` once it serves."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.log_path = workdir / "circushttpd.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "circus_web_stack.cli.circushttpd", "--port", "0", *args],
            env=dict(os.environ, **(env or {})),
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
