"""Programs the tests need from the OS (nginx, systemd-socket-activate): found, or installed from the
system's packages with apt-get (as root, `apt-get update` first). Rule: a program that cannot be had
comes back as (None, why), for the test to skip with that reason; nothing is downloaded otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable


def install_package(program: str, package: str, find: Callable[[], str | None]) -> tuple[str | None, str]:
    """`program`'s path from `find()`, installing Debian's `package` when it is missing."""
    found = find()
    if found:
        return found, ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, f"{program} is not installed and apt-get cannot install it here (needs root and apt-get)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return None, f"`{' '.join(command)}` failed: {done.stderr.strip()[-500:]}"
    found = find()
    return found, "" if found else f"apt-get installed {package} but no {program} was found"
