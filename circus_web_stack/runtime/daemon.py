"""Assembles a full daemon from a config: the arbiter plus its control endpoint and event stream, on
secure defaults (ipc sockets in a private runtime directory)."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from typing import Any

from circus_web_stack.config.loader import parse_watcher
from circus_web_stack.config.model import Config, WatcherConfig
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir
from circus_web_stack.runtime.arbiter import Arbiter
from circus_web_stack.runtime.control_server import ControlServer
from circus_web_stack.runtime.endpoints import CurveKeys, check_endpoint, owner_uid
from circus_web_stack.runtime.exit_on_failure import ExitOnFailure
from circus_web_stack.runtime.health import HealthServer
from circus_web_stack.runtime.multicast import MulticastResponder
from circus_web_stack.runtime.orphans import OrphanReaper, needs_orphan_reaper
from circus_web_stack.runtime.publisher import EventPublisher
from circus_web_stack.runtime.systemd import SystemdNotifier
from circus_web_stack.runtime.zap import ZapHandler, load_client_keys

log = logging.getLogger("circus_web_stack.daemon")


def resolve_endpoints(config: Config, env: dict[str, str] | None = None) -> dict[str, str]:
    """The endpoints to bind: the configured ones, else ipc sockets in the private runtime directory."""
    defaults = default_endpoints(
        default_runtime_dir(env if env is not None else dict(os.environ), os.getuid())
    )
    daemon = config.daemon
    return {
        "control": daemon.endpoint or defaults["control"],
        "pubsub": daemon.pubsub_endpoint or defaults["pubsub"],
        "stats": daemon.stats_endpoint or defaults["stats"],
    }


def load_curve_keys(config: Config) -> CurveKeys | None:
    path = config.daemon.curve_secret_key_file
    if not path:
        return None
    import zmq.auth

    public, secret = zmq.auth.load_certificate(path)
    if secret is None:
        raise ConfigError(
            f"{path} holds no secret key (give the .key_secret file; see docs/security.md)",
            section="circus",
            option="curve_secret_key_file",
        )
    return CurveKeys(public=public, secret=secret)


STATS_WATCHER = "circusd-stats"


def stats_watcher_config(config: Config, endpoints: dict[str, str]) -> WatcherConfig:
    """circusd-stats as a singleton watcher (as Circus runs it), every endpoint on its command line.
    It does not inherit the listening sockets: it reads them through sock_diag, and a copy of a
    socket's fd there would keep a socket removed by reloadconfig listening."""
    daemon = config.daemon
    args = [
        "-m",
        "circus_web_stack.cli.circusd_stats",
        "--endpoint",
        endpoints["control"],
        "--pubsub",
        endpoints["pubsub"],
        "--statspoint",
        endpoints["stats"],
        "--interval",
        repr(daemon.stats_interval),
        "--log-level",
        daemon.loglevel,
    ]
    if daemon.curve_secret_key_file:
        args += ["--curve-key-file", daemon.curve_secret_key_file]
        if daemon.curve_client_keys_dir:
            args += ["--curve-client-keys-dir", daemon.curve_client_keys_dir]
    options = {"cmd": shlex.quote(sys.executable), "args": args, "singleton": True, "copy_env": True}
    return parse_watcher(STATS_WATCHER, options, source="[circus] statsd")


def supervision_extensions(config: Config) -> list[Any]:
    """What lets systemd, a container runtime or Kubernetes supervise circusd (issue 16)."""
    daemon = config.daemon
    extensions: list[Any] = []
    if needs_orphan_reaper(daemon.subreaper):
        extensions.append(OrphanReaper(subreaper=daemon.subreaper))
    notifier = SystemdNotifier.from_environment()
    if notifier is not None:
        extensions.append(notifier)
    if daemon.exit_on_failure:
        names = [w.name for w in config.watchers] + ([STATS_WATCHER] if daemon.statsd else [])
        exit_on = ExitOnFailure(daemon.exit_on_failure)
        unknown = [p for p in daemon.exit_on_failure if not any(exit_on.matches(n) for n in names)]
        if unknown:
            raise ConfigError(
                f"{', '.join(unknown)} names no watcher (watchers: {', '.join(names) or 'none'}; * for any)",
                path=config.path,
                section="circus",
                option="exit_on_failure",
            )
        extensions.append(exit_on)
    if daemon.health_endpoint:
        extensions.append(HealthServer(daemon.health_endpoint, timeout_s=daemon.health_timeout))
    return extensions


def build_arbiter(config: Config, **kwargs: Any) -> Arbiter:
    endpoints = resolve_endpoints(config)
    curve = load_curve_keys(config)
    for option, key in (("endpoint", "control"), ("pubsub_endpoint", "pubsub"), ("stats_endpoint", "stats")):
        check_endpoint(endpoints[key], option=option, curve=curve, insecure=config.daemon.insecure)
    extensions: list[Any] = []
    if curve is not None:
        keys_dir = config.daemon.curve_client_keys_dir
        if keys_dir:
            # circusd-stats talks to its daemon with the daemon's own key pair.
            extensions.append(ZapHandler(load_client_keys(keys_dir) | {curve.public}))
        else:
            log.warning(
                "CurveZMQ without curve_client_keys_dir: any client that knows the daemon's "
                "public key may connect"
            )
    extensions += [
        EventPublisher(endpoints["pubsub"], curve=curve),
        ControlServer(endpoints["control"], curve=curve, owner_uid=owner_uid(config)),
    ]
    if config.daemon.multicast_endpoint:
        extensions.append(MulticastResponder(config.daemon.multicast_endpoint, endpoints["control"]))
    extensions += supervision_extensions(config)
    arbiter = Arbiter(config, extensions=extensions, **kwargs)
    arbiter.endpoints = endpoints
    if config.daemon.statsd:
        if any(w.name.lower() == STATS_WATCHER for w in config.watchers):
            raise ConfigError(
                f"[watcher:{STATS_WATCHER}] clashes with the watcher statsd = true adds; rename it",
                section="circus",
                option="statsd",
            )
        arbiter.add_watcher(stats_watcher_config(config, endpoints))
    return arbiter
