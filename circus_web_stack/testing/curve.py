"""CurveZMQ key files for tests, made with pyzmq as docs/security.md tells operators to."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import zmq.auth


@dataclass(frozen=True)
class CurveFiles:
    server_public: str  # the daemon's public key file (what clients pass as --curve-server-key)
    server_secret: str  # curve_secret_key_file
    client_secret: str  # an admitted client's secret key file
    stranger_secret: str  # a client whose key is not admitted
    allowed: Path  # curve_client_keys_dir: the admitted client's public key only


def make_curve_files(directory: Path) -> CurveFiles:
    keys, allowed = directory / "keys", directory / "allowed"
    keys.mkdir()
    allowed.mkdir()
    server_public, server_secret = zmq.auth.create_certificates(str(keys), "server")
    client_public, client_secret = zmq.auth.create_certificates(str(keys), "client")
    _, stranger_secret = zmq.auth.create_certificates(str(keys), "stranger")
    os.rename(client_public, allowed / "client.key")
    return CurveFiles(server_public, server_secret, client_secret, stranger_secret, allowed)
