"""`chaussette [options] APP`: Chaussette 1.3's command line, plus the options a production server needs.

Rule: argv is parsed here and only here, into a complete `Options`; a bad value exits with
EXIT_USAGE and a message naming the option and what would be valid. Nothing heavier than argparse
is imported before the backend has had its chance to monkey-patch.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .exit_codes import EXIT_USAGE
from .http.limits import Limits
from .http.proxies import DEFAULT_TRUSTED, TrustedProxies
from .options import (
    ADDRESS_FAMILIES,
    DEFAULT_APP,
    LOG_LEVELS,
    Options,
    parse_host,
    parse_python_path,
    parse_signal,
    parse_size,
    parse_statsd_host,
)

_DEFAULTS = Options()
_LIMITS = Limits()


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected more than 0 seconds")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaussette",
        description="Serve a WSGI application, typically on a socket inherited from circusd (--fd N).",
    )
    chaussette = parser.add_argument_group("Chaussette options")
    chaussette.add_argument(
        "application",
        nargs="?",
        default=DEFAULT_APP,
        help="pkg.module:callable, pkg.module.callable or paste:file.ini#name",
    )
    chaussette.add_argument(
        "arguments", nargs="*", default=[], help="accepted for compatibility and ignored (as Chaussette does)"
    )
    chaussette.add_argument(
        "--host", default=None, help="name or address to bind, or fd://N, or unix:/path (default: localhost)"
    )
    chaussette.add_argument("--port", type=int, default=8080, help="TCP port (default: 8080)")
    chaussette.add_argument(
        "--fd", type=int, default=-1, help="serve on this inherited listening socket (same as --host fd://N)"
    )
    chaussette.add_argument(
        "--backlog",
        type=int,
        default=None,
        help="listen queue length (default: 2048 for sockets we bind; an inherited "
        "socket keeps its own unless this is given)",
    )
    chaussette.add_argument(
        "--backend", default=_DEFAULTS.backend, help="gevent (default), waitress or wsgiref"
    )
    chaussette.add_argument("--address-family", default="AF_INET", choices=sorted(ADDRESS_FAMILIES))
    chaussette.add_argument(
        "--socket-type",
        default="SOCK_STREAM",
        choices=["SOCK_STREAM"],
        help="only SOCK_STREAM: HTTP needs a stream",
    )
    chaussette.add_argument(
        "--use-reloader",
        action="store_true",
        help="not supported: under circusd, reload with 'circusctl reload WATCHER'",
    )
    chaussette.add_argument(
        "--no-monkey", action="store_true", help="do not gevent-monkey-patch before importing the app"
    )
    chaussette.add_argument(
        "--spawn",
        type=_positive_int,
        default=None,
        help="most concurrent connections per worker (gevent, default 1000) or threads (waitress, default 4)",
    )
    chaussette.add_argument(
        "--graceful-timeout",
        type=_positive_float,
        default=_DEFAULTS.graceful_timeout_s,
        help="seconds in-flight requests get to finish after the stop signal "
        f"(default: {_DEFAULTS.graceful_timeout_s:g})",
    )
    chaussette.add_argument(
        "--pre-hook", default=None, help="pkg.mod:callable run with the options before serving"
    )
    chaussette.add_argument(
        "--post-hook", default=None, help="pkg.mod:callable run with the options after serving"
    )
    chaussette.add_argument(
        "--python-path", default=None, help=f"'{os.pathsep}'-separated paths added to sys.path"
    )
    chaussette.add_argument(
        "--log-level",
        dest="loglevel",
        default="info",
        choices=sorted([*LOG_LEVELS, *(level.upper() for level in LOG_LEVELS)]),
    )
    chaussette.add_argument("--log-output", dest="logoutput", default="-", help="log file, '-' for stderr")

    ours = parser.add_argument_group("options beyond Chaussette's")
    ours.add_argument(
        "--stop-signal",
        default="TERM",
        help="signal that starts a graceful stop (default: TERM); INT and QUIT stop at once",
    )
    ours.add_argument(
        "--trusted-proxies",
        default=DEFAULT_TRUSTED,
        help="peers whose X-Forwarded-For/Proto are honoured: addresses, networks, '*', "
        f"'unix' (default: {DEFAULT_TRUSTED}); '' trusts none",
    )
    ours.add_argument(
        "--max-body-size",
        default=str(_LIMITS.max_body_size),
        help="largest request body in bytes (K/M/G suffixes), 413 beyond; 0 = no limit (default: 1G)",
    )
    ours.add_argument(
        "--header-timeout",
        type=_positive_float,
        default=_DEFAULTS.header_timeout_s,
        help=f"seconds a client gets to send a whole request head (default: {_DEFAULTS.header_timeout_s:g})",
    )
    ours.add_argument(
        "--keepalive-timeout",
        type=_positive_float,
        default=_DEFAULTS.keepalive_timeout_s,
        help=f"seconds an idle keep-alive connection stays open (default: {_DEFAULTS.keepalive_timeout_s:g})",
    )
    ours.add_argument(
        "--io-timeout",
        type=_positive_float,
        default=_DEFAULTS.io_timeout_s,
        help="seconds a body read or a response write may make no progress "
        f"(default: {_DEFAULTS.io_timeout_s:g})",
    )
    ours.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=_DEFAULTS.access_log,
        help="write an access log line per request to --log-output (default: off)",
    )
    ours.add_argument(
        "--request-metrics",
        action=argparse.BooleanOptionalAction,
        default=_DEFAULTS.request_metrics,
        help="report request counts by status class and latency to circusd (its /metrics) on "
        "NOTIFY_SOCKET once a second (default: off)",
    )
    ours.add_argument(
        "--statsd-host",
        default=None,
        help="send request counts, status codes and latency to statsd at HOST:PORT, HOST (port 8125) "
        "or unix://PATH, as gunicorn's --statsd-host does (default: off)",
    )
    ours.add_argument(
        "--statsd-prefix",
        default="",
        help="prefix of the statsd names, a '.' added (as gunicorn's); '$(circus.wid)' in it gives "
        "per-worker names under circusd",
    )
    ours.add_argument(
        "--limit-request-line",
        type=_positive_int,
        default=_LIMITS.max_request_line,
        help=f"longest request target in bytes, 414 beyond (default: {_LIMITS.max_request_line})",
    )
    ours.add_argument(
        "--limit-request-fields",
        type=_positive_int,
        default=_LIMITS.max_header_fields,
        help=f"most header fields, 431 beyond (default: {_LIMITS.max_header_fields})",
    )
    ours.add_argument(
        "--limit-request-field-size",
        type=_positive_int,
        default=_LIMITS.max_header_field_size,
        help=f"longest header field in bytes, 431 beyond (default: {_LIMITS.max_header_field_size})",
    )
    return parser


def options_from_args(args: argparse.Namespace) -> Options:
    """Validate the parsed command line into `Options`; ValueError names the option at fault."""
    if args.use_reloader:
        raise ValueError(
            "--use-reloader is not supported: under circusd reload workers with 'circusctl reload WATCHER'; "
            "in development use your framework's own server"
        )
    fd = args.fd if args.fd != -1 else None
    if fd is not None and args.host is not None:
        raise ValueError(f"--fd {args.fd} and --host {args.host}: give one of them")
    listen = parse_host(args.host or "localhost", args.port, args.address_family, fd, args.backlog)
    try:
        trusted = TrustedProxies.parse(args.trusted_proxies)
    except ValueError as exc:
        raise ValueError(f"--trusted-proxies: {exc}") from None
    limits = Limits(
        max_request_line=args.limit_request_line,
        max_header_fields=args.limit_request_fields,
        max_header_field_size=args.limit_request_field_size,
        max_body_size=parse_size(args.max_body_size, "--max-body-size"),
    )
    return Options(
        app=args.application,
        listen=listen,
        backend=args.backend,
        monkey_patch=not args.no_monkey,
        spawn=args.spawn,
        graceful_timeout_s=args.graceful_timeout,
        stop_signal=parse_signal(args.stop_signal),
        pre_hook=args.pre_hook,
        post_hook=args.post_hook,
        python_path=parse_python_path(args.python_path, os.pathsep),
        log_level=args.loglevel.lower(),
        log_output=args.logoutput,
        access_log=args.access_log,
        trusted_proxies=trusted,
        limits=limits,
        header_timeout_s=args.header_timeout,
        keepalive_timeout_s=args.keepalive_timeout,
        io_timeout_s=args.io_timeout,
        statsd=parse_statsd_host(args.statsd_host) if args.statsd_host is not None else None,
        statsd_prefix=args.statsd_prefix,
        request_metrics=args.request_metrics,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from_args(args)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"chaussette: error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if args.arguments:
        print(
            f"chaussette: ignoring extra arguments {args.arguments!r} (as Chaussette does)", file=sys.stderr
        )
    if args.statsd_prefix and args.statsd_host is None:
        print("chaussette: --statsd-prefix has no effect without --statsd-host", file=sys.stderr)
    from .server import run  # imported late: the backend must monkey-patch before heavy imports

    sys.exit(run(options, args))
