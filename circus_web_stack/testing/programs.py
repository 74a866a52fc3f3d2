"""Small programs the tests run under circusd, written once."""

from __future__ import annotations

from pathlib import Path


def held_script(directory: Path, name: str = "held") -> tuple[Path, Path, Path]:
    """A Python program that ignores SIGTERM and exits (code 0) once the returned `release` file exists:
    a stop that lasts exactly as long as a test needs. It creates the returned `marker` once its handler
    is in place, so a test knows when sending SIGTERM proves something. Returns (script, marker,
    release)."""
    script = directory / f"{name}.py"
    marker = directory / f"{name}.ready"
    release = directory / f"{name}.release"
    script.write_text(
        "import os, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(marker)!r}, 'w').close()\n"
        f"while not os.path.exists({str(release)!r}):\n    time.sleep(0.05)\n"
    )
    return script, marker, release


def stubborn_script(directory: Path) -> tuple[Path, Path]:
    """A held program never released: only SIGKILL ends it. Returns (script, marker)."""
    script, marker, _ = held_script(directory, "stubborn")
    return script, marker
