"""Assembles a full daemon from a config: the arbiter plus its control endpoint and event stream, on
secure defaults (ipc sockets in a private runtime directory)."""

from __future__ import annotations

import os
from typing import Any

from circus_web_stack.config.model import Config
from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir
from circus_web_stack.runtime.arbiter import Arbiter
from circus_web_stack.runtime.control_server import ControlServer
from circus_web_stack.runtime.endpoints import CurveKeys, check_endpoint
from circus_web_stack.runtime.publisher import EventPublisher


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
        from circus_web_stack.core.errors import ConfigError

        raise ConfigError(
            f"{path} holds no secret key (make one with `circusctl keygen`)",
            section="circus",
            option="curve_secret_key_file",
        )
    return CurveKeys(public=public, secret=secret)


def build_arbiter(config: Config, **kwargs: Any) -> Arbiter:
    endpoints = resolve_endpoints(config)
    curve = load_curve_keys(config)
    for option, key in (("endpoint", "control"), ("pubsub_endpoint", "pubsub"), ("stats_endpoint", "stats")):
        check_endpoint(endpoints[key], option=option, curve=curve, insecure=config.daemon.insecure)
    extensions = [
        EventPublisher(endpoints["pubsub"], curve=curve),
        ControlServer(endpoints["control"], curve=curve),
    ]
    arbiter = Arbiter(config, extensions=extensions, **kwargs)
    arbiter.endpoints = endpoints
    return arbiter
