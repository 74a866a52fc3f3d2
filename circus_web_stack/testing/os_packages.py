"""Programs the tests need from the OS (nginx, chromium and its driver, systemd-socket-activate): found,
or installed from the system's packages by name with apt-get (as root, `apt-get update` first).

Rule: a program that cannot be had comes back as (None, why), for the test to skip with that reason;
nothing is downloaded otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable


def ensure_installed(packages: list[str], find: Callable[[], str | None]) -> tuple[str | None, str]:
    """`find()`'s path, after installing Debian's `packages` with apt-get when it finds nothing."""
    found = find()
    if found:
        return found, ""
    names = " ".join(packages)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, f"{names}: not installed, and apt-get cannot install it here (needs root and apt-get)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return None, f"`{' '.join(command)}` failed: {done.stderr.strip()[-500:]}"
    found = find()
    return found, "" if found else f"apt-get installed {names} but the program was not found"
