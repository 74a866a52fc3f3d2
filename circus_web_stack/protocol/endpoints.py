"""Where the daemon's sockets live by default, so circusd and its clients agree without a config.

Rule: pure functions of the environment and uid passed in; the private runtime directory keeps
the control socket out of other users' reach (Circus listens on tcp://127.0.0.1:5555 for anyone).
"""

from __future__ import annotations

from collections.abc import Mapping

CONTROL_SOCKET = "control.sock"
PUBSUB_SOCKET = "pubsub.sock"
STATS_SOCKET = "stats.sock"

# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_IPC_PATH_BYTES = 107


def default_runtime_dir(env: Mapping[str, str], uid: int) -> str:
    """$CIRCUS_RUNTIME_DIR, else $XDG_RUNTIME_DIR/circus-web-stack, else /run/circus-web-stack for
    root, else /tmp/circus-web-stack-<uid>."""
    explicit = env.get("CIRCUS_RUNTIME_DIR")
    if explicit:
        return explicit
    xdg = env.get("XDG_RUNTIME_DIR")
    if xdg:
        return f"{xdg.rstrip('/')}/circus-web-stack"
    if uid == 0:
        return "/run/circus-web-stack"
    return f"/tmp/circus-web-stack-{uid}"


def default_endpoints(runtime_dir: str) -> dict[str, str]:
    """The ipc:// endpoints in `runtime_dir`: keys control, pubsub and stats."""
    base = runtime_dir.rstrip("/") or "/"
    return {
        "control": f"ipc://{base}/{CONTROL_SOCKET}",
        "pubsub": f"ipc://{base}/{PUBSUB_SOCKET}",
        "stats": f"ipc://{base}/{STATS_SOCKET}",
    }


def ipc_path(endpoint: str) -> str | None:
    """The filesystem path of an ipc:// endpoint; None for tcp:// and others."""
    if endpoint.startswith("ipc://"):
        return endpoint[len("ipc://") :]
    return None


def endpoint_problem(endpoint: str) -> str | None:
    """Why `endpoint` cannot work, or None: unknown scheme, or an ipc path too long for a socket."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep or scheme not in ("tcp", "ipc", "inproc") or not rest:
        return f"{endpoint!r} is not a ZeroMQ endpoint (expected ipc:///path/to.sock or tcp://host:port)"
    path = ipc_path(endpoint)
    if path is not None and len(path.encode()) > MAX_IPC_PATH_BYTES:
        return (
            f"ipc path {path!r} is {len(path.encode())} bytes; unix sockets allow {MAX_IPC_PATH_BYTES} "
            "(use a shorter directory, e.g. set CIRCUS_RUNTIME_DIR)"
        )
    return None
