"""The peers the benchmarks compare against, each in its own virtualenv under .venv-peers/ (gitignored),
so their dependencies never meet ours: Circus 0.19, and gunicorn 27 with its gevent worker.

Rule: a venv is created and filled on first use with pip, its ordinary client; afterwards it is reused
as long as its stamp file lists the same requirements.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO

PEERS_DIR = REPO / ".venv-peers"
STAMP = "benchmark-requirements.txt"


@dataclass(frozen=True)
class Peer:
    name: str
    requirements: tuple[str, ...]

    @property
    def venv(self) -> Path:
        return PEERS_DIR / self.name

    def bin(self, program: str) -> Path:
        return self.venv / "bin" / program


CIRCUS = Peer("circus-0.19", ("circus==0.19.0",))
# gunicorn 27's gevent worker needs the [gevent] extra: plain `gunicorn gevent` lacks `packaging`.
GUNICORN = Peer("gunicorn-27", ("gunicorn[gevent]>=27,<28",))


def ensure(peer: Peer, extra: Sequence[str] = ()) -> Peer:
    """The peer's venv, created or completed unless its stamp lists exactly its requirements plus
    `extra` (what the apps under test import, e.g. django==5.2)."""
    stamp = peer.venv / STAMP
    requirements = [*peer.requirements, *extra]
    wanted = "\n".join(requirements) + "\n"
    if stamp.exists() and stamp.read_text() == wanted:
        return peer
    if not (peer.venv / "bin" / "python").exists():
        print(f"creating {peer.venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(peer.venv)], check=True)
    print(f"installing {' '.join(requirements)} into {peer.venv} ...", flush=True)
    subprocess.run([str(peer.bin("pip")), "install", "-q", *requirements], check=True)
    stamp.write_text(wanted)
    return peer


def version(peer: Peer, distribution: str) -> str:
    """The installed version of `distribution` in the peer's venv."""
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    done = subprocess.run([str(peer.bin("python")), "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()
