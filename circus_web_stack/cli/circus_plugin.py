"""`circus-plugin`: run one plugin class against a daemon (Circus's `circus-plugin` / `plugins.main()`).

circusd runs each [plugin:NAME] as the watcher `plugin:NAME` with this command line; it runs by hand
just as well. The class is named as in `use =` (Circus's dotted paths are mapped to ours). Its
options come as `--config-json '{"k": "v"}'` (what circusd passes) or Circus's `--config k:v:::k:v`.
SIGTERM and Ctrl-C stop it through handle_stop; a plugin that raises exits 1 with the traceback, and
its watcher respawns it. Exit codes are cli/exit_codes.py's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from typing import Any

from circus_web_stack import __version__
from circus_web_stack.cli.common import positive_seconds
from circus_web_stack.cli.exit_codes import EXIT_CONFIG, EXIT_OK, EXIT_USAGE

LOG_FORMAT = "%(asctime)s circus-plugin[%(process)d] %(name)s [%(levelname)s] %(message)s"


def circus_config(text: str | None) -> dict[str, str]:
    """Circus's `k:v:::k:v` (a value with ':::' in it cannot be written: use --config-json)."""
    config: dict[str, str] = {}
    for item in (text or "").split(":::"):
        key, sep, value = item.partition(":")
        if sep:
            config[key.strip()] = value.strip()
    return config


def build_parser() -> argparse.ArgumentParser:
    from circus_web_stack.client.daemon import default_endpoint
    from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir

    defaults = default_endpoints(default_runtime_dir(os.environ, os.getuid()))
    parser = argparse.ArgumentParser(prog="circus-plugin", description="Run a Circus plugin against circusd.")
    parser.add_argument("--endpoint", default=default_endpoint(), help="circusd's control endpoint")
    parser.add_argument("--pubsub", default=defaults["pubsub"], help="circusd's event endpoint")
    parser.add_argument("--config", help="the plugin's options as Circus writes them: k:v:::k:v")
    parser.add_argument("--config-json", help='the plugin\'s options as a JSON object: {"k": "v"}')
    parser.add_argument(
        "--check-delay", type=positive_seconds, default=5.0, help="circusd's check_delay (default 5)"
    )
    parser.add_argument("--ssh", help="refused: SSH tunnels are not supported")
    parser.add_argument("--curve-key-file", help="circusd's CurveZMQ secret key file, to reach its endpoints")
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error, critical")
    parser.add_argument("--log-output", default="-", help="'-' (stderr) or a file path")
    parser.add_argument(
        "--version", action="version", version=f"circus-plugin (circus-web-stack) {__version__}"
    )
    parser.add_argument(
        "plugin", help="dotted path of the plugin class (circus.plugins.statsd.StatsdEmitter)"
    )
    return parser


class _Stop(BaseException):
    """Raised by the SIGTERM/SIGINT handler: unwinds the plugin's loop, then stop() runs."""


def _stop(signum: int, frame: object) -> None:
    raise _Stop()


def _options(args: argparse.Namespace) -> dict[str, Any] | str:
    config: dict[str, Any] = circus_config(args.config)
    if args.config_json:
        try:
            extra = json.loads(args.config_json)
        except ValueError as exc:
            return f"--config-json is not JSON: {exc}"
        if not isinstance(extra, dict):
            return "--config-json must be a JSON object"
        config.update(extra)
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.ssh:
        print(
            "circus-plugin: --ssh: SSH tunnels are not supported; reach circusd over CurveZMQ",
            file=sys.stderr,
        )
        return EXIT_USAGE
    config = _options(args)
    if isinstance(config, str):
        print(f"circus-plugin: {config}", file=sys.stderr)
        return EXIT_USAGE
    from circus_web_stack.config.kinds import InvalidValue
    from circus_web_stack.config.plugin_use import load_plugin_class
    from circus_web_stack.core.errors import ConfigError

    try:
        factory = load_plugin_class(args.plugin)
    except InvalidValue as exc:
        print(f"circus-plugin: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        plugin = factory(args.endpoint, args.pubsub, args.check_delay, None, **config)
    except (ConfigError, ValueError) as exc:
        print(f"circus-plugin: {args.plugin}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.curve_key_file:
        import zmq.auth

        from circus_web_stack.client.daemon import CurveKeys

        public, secret = zmq.auth.load_certificate(args.curve_key_file)
        if secret is None:
            print(f"circus-plugin: {args.curve_key_file} holds no secret key", file=sys.stderr)
            return EXIT_USAGE
        # the daemon's own key pair doubles as ours, as for circusd-stats
        plugin.curve = CurveKeys(public, public, secret)
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr) if args.log_output == "-" else logging.FileHandler(args.log_output)
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(args.log_level.upper())
    log = logging.getLogger("circus_web_stack.plugins")
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "%s starting (endpoint %s, pubsub %s, check_delay %gs)",
        args.plugin,
        args.endpoint,
        args.pubsub,
        args.check_delay,
    )
    try:
        plugin.start()
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        plugin.stop()
        log.info("%s stopped", args.plugin)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
