"""Small programs the tests run under circusd, written once."""

from __future__ import annotations

from pathlib import Path


def stubborn_script(directory: Path) -> tuple[Path, Path]:
    """A Python program that ignores SIGTERM; it creates the returned marker once its handler is in
    place, so a test knows when sending SIGTERM proves something."""
    script = directory / "stubborn.py"
    marker = directory / "stubborn.ready"
    script.write_text(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(marker)!r}, 'w').close()\ntime.sleep(1000)\n"
    )
    return script, marker


def held_script(directory: Path) -> tuple[Path, Path, Path]:
    """Like stubborn_script, but it exits (code 0) once the returned `release` file exists: a stop that
    lasts exactly as long as a test needs. Returns (script, marker, release)."""
    script = directory / "held.py"
    marker = directory / "held.ready"
    release = directory / "held.release"
    script.write_text(
        "import os, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(marker)!r}, 'w').close()\n"
        f"while not os.path.exists({str(release)!r}):\n    time.sleep(0.02)\n"
    )
    return script, marker, release
