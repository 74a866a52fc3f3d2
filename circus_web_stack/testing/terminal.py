"""A real terminal for tests of full-screen programs (circus-top): one tmux server of the test's own,
its socket in the test's directory, one window running one command.

Rule: every wait is bounded; close() ends the tmux server the test started, and with it the command.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from circus_web_stack.testing.waiting import wait_until


class Terminal:
    """One tmux server of our own (its socket in tmp_path), one window running a command."""

    def __init__(self, tmp_path: Path, command: list[str], width: int = 120, height: int = 30) -> None:
        self.socket = str(tmp_path / "tmux.sock")
        self.exit_file = tmp_path / "exit-code"
        line = " ".join(shlex.quote(c) for c in command)
        script = f"{line} 2>{tmp_path / 'stderr'}; echo $? > {self.exit_file}; sleep 60"
        self._tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), script)

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=10, check=True
        )
        return result.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t")

    def wait_screen(self, text: str, timeout: float = 10.0) -> str:
        return wait_until(
            lambda: (lambda s: s if text in s else None)(self.screen()), timeout, f"{text!r} on the screen"
        )

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def wait_exit(self, timeout: float = 10.0) -> int:
        wait_until(
            lambda: self.exit_file.exists() and self.exit_file.read_text().strip(), timeout, "the exit"
        )
        return int(self.exit_file.read_text())

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=10)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
