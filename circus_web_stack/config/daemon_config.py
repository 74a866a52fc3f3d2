"""[circus]: the daemon's options, each declared once as a field of DaemonConfig (see options.py's rule).

Build it through config.loader (`load_config`, `parse_daemon`), which validates; constructing it directly
skips validation. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from circus_web_stack.config.declaration import json_option_values, option
from circus_web_stack.config.endpoints import Endpoint, HostPort, MulticastEndpoint
from circus_web_stack.config.kinds import Bool, Choice, Int, Octal, Seconds, Text, Words
from circus_web_stack.config.os_kinds import ExistingPath, UserName

_PRIVATE_SOCKET = "a unix socket in the daemon's private runtime directory"
_FILE = Text(optional=True)


@dataclass(frozen=True)
class DaemonConfig:
    """[circus]. Endpoints left None mean "a unix socket in the daemon's private runtime directory",
    which the runtime chooses; `multicast_endpoint` "" means discovery is off."""

    endpoint: str | None = option(
        Endpoint(), None, "control socket (ROUTER) for circusctl", default_doc=_PRIVATE_SOCKET
    )
    endpoint_owner: str | None = option(
        UserName(), None, "user to chown an ipc:// control socket to; `add` then forces that uid"
    )
    pubsub_endpoint: str | None = option(Endpoint(), None, "event socket (PUB)", default_doc=_PRIVATE_SOCKET)
    multicast_endpoint: str = option(
        MulticastEndpoint(), "", "UDP multicast discovery responder", default_doc="(off)"
    )
    statsd: bool = option(Bool(), False, "run circusd-stats")
    stats_endpoint: str | None = option(
        Endpoint(),
        None,
        "statistics socket (PUB); setting it implies statsd = true",
        default_doc=_PRIVATE_SOCKET,
    )
    stats_interval: float = option(
        Seconds(positive=True),
        1.0,
        "seconds between two samples of circusd-stats; CPU % is measured over this interval",
    )
    check_delay: float = option(
        Seconds(positive=True), 5.0, "seconds between supervision ticks (max_age, on_demand)"
    )
    warmup_delay: float = option(Seconds(0), 0.0, "seconds to wait between starting two watchers")
    umask: int | None = option(Octal(optional=True), None, "umask of the daemon, in octal (022)")
    # The web console (circushttpd, started as the helper watcher `circushttpd`).
    httpd: bool = option(Bool(), False, "run the web console circushttpd as the watcher circushttpd")
    httpd_host: str = option(
        Text(),
        "localhost",
        "host the web console listens on; other than loopback it needs httpd_password_hash",
    )
    httpd_port: int = option(Int(0, 65535), 8080, "port the web console listens on")
    httpd_password_hash: str | None = option(
        _FILE, None, "salted hash of the console's admin password (`circushttpd --hash-password` prints one)"
    )
    httpd_readonly_password_hash: str | None = option(
        _FILE, None, "salted hash of the console's read-only password: sees everything, may act on nothing"
    )
    debug: bool = option(Bool(), False, "send the children's output to the daemon's stdout")
    debug_gc: bool = option(Bool(), False, "gc.set_debug(DEBUG_LEAK) in the daemon")
    pidfile: str | None = option(_FILE, None, "file to write the daemon's pid to")
    loglevel: str = option(
        Choice("critical", "error", "warning", "info", "debug"), "info", "daemon log level"
    )
    logoutput: str = option(Text(), "-", "daemon log: -, a file path, or syslog://host:port?facility")
    loggerconfig: str | None = option(
        _FILE, None, "logging dictConfig file (.ini, .json, .yaml) or 'default'"
    )
    fqdn_prefix: str | None = option(
        _FILE, None, "the name this daemon gives in multicast discovery answers (default: the host name)"
    )
    insecure: bool = option(
        Bool(), False, "allow control/event endpoints reachable from the network without CurveZMQ keys"
    )
    curve_secret_key_file: str | None = option(
        ExistingPath(), None, "CurveZMQ secret key file of the daemon (`.key_secret`)"
    )
    curve_public_key_file: str | None = option(ExistingPath(), None, "CurveZMQ public key file of the daemon")
    curve_client_keys_dir: str | None = option(
        ExistingPath(directory=True), None, "directory of the public keys (`*.key`) of allowed clients"
    )
    # ---- circusd under systemd and in containers (issue 16): sd_notify, socket activation and PID 1
    # need no option; these are what an operator chooses.
    subreaper: bool = option(
        Bool(),
        False,
        "make circusd a child subreaper (PR_SET_CHILD_SUBREAPER): processes its workers leave behind "
        "are re-parented to it and reaped. As PID 1 orphans are reaped anyway",
    )
    exit_on_failure: tuple[str, ...] = option(
        Words(),
        (),
        "watchers (names, or *) whose failure for good (flapping gave up) stops circusd, which then "
        "exits with the failed process's exit code (128+N for signal N): a container's restart "
        "policy takes over",
        default_doc="(none)",
    )
    health_endpoint: str | None = option(
        HostPort(),
        None,
        "HTTP address of the health probes /livez and /readyz; a bare PORT listens on 127.0.0.1",
        default_doc="(off)",
    )
    overlay: str = option(
        Choice("off", "manual", "auto"),
        "off",
        "keep run-time changes (watchers added or removed, numprocesses) in <config file>.overlay, which "
        "is read at start and at reloadconfig: manual writes it at the `saveoverlay` command, auto after "
        "every change as well",
    )
    health_timeout: float = option(
        Seconds(positive=True),
        2.0,
        "seconds the daemon's hub may take to answer a probe before it fails with 503",
    )
    metrics_endpoint: str | None = option(
        HostPort(),
        None,
        "HTTP address of the Prometheus endpoint GET /metrics (docs/metrics.md); a bare PORT listens on "
        "127.0.0.1",
        default_doc="(off)",
    )

    def option_values(self) -> dict[str, Any]:
        """Every [circus] option by name, JSON-serialisable (endpoints None = not resolved yet)."""
        return json_option_values(self)
