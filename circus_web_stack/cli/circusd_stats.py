"""`circusd-stats`: publish a daemon's process and socket statistics on the stats endpoint.

circusd starts it as the singleton watcher `circusd-stats` when `[circus] statsd = true`, passing
every endpoint on the command line (Circus's flags); it runs by hand just as well. SIGTERM and
Ctrl-C stop it cleanly, and so does the end of its stdout's reader when it logs there; exit codes
are cli/exit_codes.py's.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys

from circus_web_stack import __version__
from circus_web_stack.cli.common import (
    Parser,
    exit_quietly_on_closed_stdout,
    positive_seconds,
    silence_stdout,
)
from circus_web_stack.cli.exit_codes import EXIT_BIND, EXIT_DAEMON_GONE, EXIT_OK, EXIT_USAGE

LOG_FORMAT = "%(asctime)s circusd-stats[%(process)d] [%(levelname)s] %(message)s"


def build_parser() -> argparse.ArgumentParser:
    from circus_web_stack.client.daemon import default_endpoint
    from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir

    defaults = default_endpoints(default_runtime_dir(os.environ, os.getuid()))
    parser = Parser(
        prog="circusd-stats", description="Publish the statistics of a circusd's processes and sockets."
    )
    parser.add_argument("--endpoint", default=default_endpoint(), help="circusd's control endpoint")
    parser.add_argument("--pubsub", default=defaults["pubsub"], help="circusd's event endpoint")
    parser.add_argument("--statspoint", default=defaults["stats"], help="the stats endpoint to publish on")
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=1.0,
        help="seconds between two samples; CPU%% is measured over this interval (default 1)",
    )
    parser.add_argument(
        "--curve-key-file",
        help="circusd's CurveZMQ secret key file: to reach its endpoints and encrypt the stats endpoint",
    )
    parser.add_argument(
        "--curve-client-keys-dir",
        help="with --curve-key-file: admit to the stats endpoint only the client public keys (*.key) in "
        "this directory, as circusd does on its endpoints (circusd passes its curve_client_keys_dir)",
    )
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error, critical")
    parser.add_argument("--log-output", default="stderr", help="'-' or stdout, stderr, or a file path")
    parser.add_argument(
        "--version", action="version", version=f"circusd-stats (circus-web-stack) {__version__}"
    )
    return parser


class _StdoutLogHandler(logging.StreamHandler):
    """Logs to stdout; when stdout's reader has gone away, stops the program as SIGTERM does
    instead of printing logging's "--- Logging error ---" traceback for every record."""

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            silence_stdout()
            os.kill(os.getpid(), signal.SIGTERM)
            return
        super().handleError(record)


def _configure_logging(level: str, output: str) -> None:
    if output in ("-", "stdout"):
        handler: logging.Handler = _StdoutLogHandler(sys.stdout)
    elif output == "stderr":
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.FileHandler(output)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())


def _raise_file_limit() -> None:
    """Two /proc files stay open per sampled process: take every descriptor the hard limit allows.
    Past it, processes are read by path (slower), never skipped."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(EXIT_OK)


@exit_quietly_on_closed_stdout
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level, args.log_output)
    log = logging.getLogger("circus_web_stack.stats")
    import zmq

    from circus_web_stack.client.daemon import CircusClient, CurveKeys
    from circus_web_stack.core.errors import ConfigError
    from circus_web_stack.runtime.stats.streamer import DaemonGone, StatsStreamer

    curve = client_curve = None
    if args.curve_key_file:
        import zmq.auth

        public, secret = zmq.auth.load_certificate(args.curve_key_file)
        if secret is None:
            print(f"circusd-stats: {args.curve_key_file} holds no secret key", file=sys.stderr)
            return EXIT_USAGE
        # The daemon's own key pair doubles as our client key: a curve_client_keys_dir that admits
        # circusd's public key admits its circusd-stats.
        curve = (public, secret, public, secret)
        client_curve = CurveKeys(public, public, secret)
    if args.curve_client_keys_dir and curve is None:
        print("circusd-stats: --curve-client-keys-dir needs --curve-key-file", file=sys.stderr)
        return EXIT_USAGE
    if args.curve_client_keys_dir and not os.path.isdir(args.curve_client_keys_dir):
        print(
            f"circusd-stats: --curve-client-keys-dir {args.curve_client_keys_dir} is not a directory",
            file=sys.stderr,
        )
        return EXIT_USAGE
    _raise_file_limit()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with contextlib.ExitStack() as cleanup:
        if args.curve_client_keys_dir:
            # pyzmq's own ZAP handler, in a thread (this process has no gevent hub); it answers for
            # every server socket of the context, which here is only the stats endpoint.
            from zmq.auth.thread import ThreadAuthenticator

            authenticator = ThreadAuthenticator(zmq.Context.instance(), log=log)
            authenticator.start()
            cleanup.callback(authenticator.stop)
            authenticator.configure_curve(domain="*", location=args.curve_client_keys_dir)
        client = CircusClient(args.endpoint, timeout=5.0, curve=client_curve)
        cleanup.callback(client.close)
        try:
            streamer = StatsStreamer(
                client.call_ok, args.pubsub, args.statspoint, interval_s=args.interval, curve=curve
            )
        except (zmq.ZMQError, ConfigError) as exc:
            print(f"circusd-stats: cannot bind the stats endpoint {args.statspoint}: {exc}", file=sys.stderr)
            return EXIT_BIND
        cleanup.callback(streamer.close)
        log.info("publishing statistics on %s every %gs", args.statspoint, args.interval)
        try:
            streamer.run()
        except DaemonGone as exc:
            log.error("%s", exc)
            return EXIT_DAEMON_GONE
        except SystemExit:
            return EXIT_OK
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
