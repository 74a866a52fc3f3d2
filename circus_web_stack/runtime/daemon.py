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
from circus_web_stack.config.plugin_section import with_plugin_watchers
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir
from circus_web_stack.runtime.arbiter import Arbiter
from circus_web_stack.runtime.control_server import ControlServer
from circus_web_stack.runtime.endpoints import CurveKeys, StaleEndpointRemover, check_endpoint, owner_uid
from circus_web_stack.runtime.exit_on_failure import ExitOnFailure
from circus_web_stack.runtime.health import HealthServer
from circus_web_stack.runtime.multicast import MulticastResponder
from circus_web_stack.runtime.orphans import OrphanReaper, needs_orphan_reaper
from circus_web_stack.runtime.output_tap import OutputTapper
from circus_web_stack.runtime.overlay import OverlayWriter
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
    """The daemon's key pair from curve_secret_key_file; curve_public_key_file, when set, must hold
    the same public key. Every failure names the option and the file."""
    path = config.daemon.curve_secret_key_file
    if not path:
        return None
    public, secret = _read_certificate(config, "curve_secret_key_file")
    if secret is None:
        raise _curve_error(
            config, "curve_secret_key_file", f"{path} holds no secret key (give the .key_secret file)"
        )
    if config.daemon.curve_public_key_file:
        other, _ = _read_certificate(config, "curve_public_key_file")
        if other != public:
            raise _curve_error(
                config,
                "curve_public_key_file",
                f"{config.daemon.curve_public_key_file} is not the public half of {path}",
            )
    return CurveKeys(public=public, secret=secret)


def _read_certificate(config: Config, option: str) -> tuple[bytes, bytes | None]:
    import zmq.auth  # only CURVE users pay for it at start-up

    path = getattr(config.daemon, option)
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        # pyzmq says "Invalid certificate file" for a missing file and a malformed one alike.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a CurveZMQ certificate"
        raise _curve_error(config, option, f"cannot read {path}: {reason}") from exc


def _curve_error(config: Config, option: str, message: str) -> ConfigError:
    return ConfigError(
        f"{message} (zmq.auth.create_certificates writes key pairs; see docs/security.md)",
        path=config.path,
        section="circus",
        option=option,
    )


STATS_WATCHER = "circusd-stats"
HTTPD_WATCHER = "circushttpd"
# circushttpd reads the password hashes from its environment, not its command line (ps shows that).
HTTPD_PASSWORD_HASH_ENV = "CIRCUSHTTPD_PASSWORD_HASH"
HTTPD_READONLY_PASSWORD_HASH_ENV = "CIRCUSHTTPD_READONLY_PASSWORD_HASH"


def _helper_watcher(
    name: str, module: str, args: list[str], source: str, env: dict[str, str] | None = None
) -> WatcherConfig:
    """A helper (circusd-stats, circushttpd) as a singleton watcher, as Circus runs them."""
    options: dict[str, Any] = {
        "cmd": shlex.quote(sys.executable),
        "args": ["-m", module, *args],
        "singleton": True,
        "copy_env": True,
    }
    if env:
        options["env"] = env
    return parse_watcher(name, options, source=source)


def _curve_args(config: Config) -> list[str]:
    daemon = config.daemon
    if not daemon.curve_secret_key_file:
        return []
    args = ["--curve-key-file", daemon.curve_secret_key_file]
    if daemon.curve_client_keys_dir:
        args += ["--curve-client-keys-dir", daemon.curve_client_keys_dir]
    return args


def stats_watcher_config(config: Config, endpoints: dict[str, str]) -> WatcherConfig:
    """circusd-stats, every endpoint on its command line. It does not inherit the listening sockets:
    it reads them through sock_diag, and a copy of a socket's fd there would keep a socket removed by
    reloadconfig listening."""
    daemon = config.daemon
    args = [
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
        *_curve_args(config),
    ]
    return _helper_watcher(STATS_WATCHER, "circus_web_stack.cli.circusd_stats", args, "[circus] statsd")


def httpd_watcher_config(config: Config, endpoints: dict[str, str]) -> WatcherConfig:
    """circushttpd, the web console: a process of its own, never on the daemon's hub."""
    daemon = config.daemon
    args = [
        "--endpoint",
        endpoints["control"],
        "--host",
        daemon.httpd_host,
        "--port",
        str(daemon.httpd_port),
        "--log-level",
        daemon.loglevel,
    ]
    if daemon.curve_secret_key_file:
        args += ["--curve-key-file", daemon.curve_secret_key_file]
    env = {
        key: value
        for key, value in (
            (HTTPD_PASSWORD_HASH_ENV, daemon.httpd_password_hash),
            (HTTPD_READONLY_PASSWORD_HASH_ENV, daemon.httpd_readonly_password_hash),
        )
        if value
    }
    return _helper_watcher(HTTPD_WATCHER, "circus_web_stack.cli.circushttpd", args, "[circus] httpd", env)


def _add_helper(arbiter: Arbiter, config: Config, helper: WatcherConfig, option: str) -> None:
    if any(w.name.lower() == helper.name for w in config.watchers):
        raise ConfigError(
            f"[watcher:{helper.name}] clashes with the watcher {option} = true adds; rename it",
            section="circus",
            option=option,
        )
    arbiter.add_watcher_config(helper)


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
    config = with_plugin_watchers(config, endpoints)  # each [plugin:NAME] runs as the watcher plugin:NAME
    curve = load_curve_keys(config)
    for option, key in (("endpoint", "control"), ("pubsub_endpoint", "pubsub"), ("stats_endpoint", "stats")):
        check_endpoint(endpoints[key], option=option, curve=curve, insecure=config.daemon.insecure)
    extensions: list[Any] = []
    if curve is not None:
        keys_dir = config.daemon.curve_client_keys_dir
        if keys_dir:
            # circusd-stats talks to its daemon with the daemon's own key pair.
            zap = ZapHandler(load_client_keys(keys_dir), directory=keys_dir, own_key=curve.public)
            extensions.append(zap)
        else:
            log.warning(
                "CurveZMQ without curve_client_keys_dir: any client that knows the daemon's "
                "public key may connect"
            )
    publisher = EventPublisher(endpoints["pubsub"], curve=curve)
    metrics = None
    if config.daemon.metrics_endpoint:
        # imported only when configured: prometheus_client costs every circusd about 4 MB otherwise
        from circus_web_stack.runtime.metrics.ledgers import CommandMeter
        from circus_web_stack.runtime.metrics.server import MetricsServer

        metrics = MetricsServer(config.daemon.metrics_endpoint, commands=CommandMeter())
    extensions += [
        publisher,
        OutputTapper(publisher),
        ControlServer(
            endpoints["control"],
            curve=curve,
            owner_uid=owner_uid(config),
            observer=metrics.commands.observe if metrics is not None else None,
        ),
    ]
    if metrics is not None:
        extensions.append(metrics)
    if config.daemon.multicast_endpoint:
        extensions.append(
            MulticastResponder(
                config.daemon.multicast_endpoint, endpoints["control"], config.daemon.fqdn_prefix
            )
        )
    if config.daemon.statsd:  # circusd-stats binds it; if it is SIGKILLed, circusd removes its file
        extensions.append(StaleEndpointRemover(endpoints["stats"]))
    extensions += supervision_extensions(config)
    if config.daemon.overlay != "off":
        extensions.append(OverlayWriter(config.daemon.overlay, helpers=(STATS_WATCHER, HTTPD_WATCHER)))
    arbiter = Arbiter(config, extensions=extensions, **kwargs)
    arbiter.endpoints = endpoints
    if config.daemon.statsd:
        _add_helper(arbiter, config, stats_watcher_config(config, endpoints), "statsd")
    if config.daemon.httpd:
        _add_helper(arbiter, config, httpd_watcher_config(config, endpoints), "httpd")
    return arbiter
