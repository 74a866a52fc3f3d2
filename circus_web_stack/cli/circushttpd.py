"""`circushttpd`: the live web console of one or more circusd, served by our own gevent HTTP server
(chaussette_compat's), in a process of its own.

Rules: it listens on loopback unless a password is configured, and refuses any other address without
one; a token is printed at start (as Jupyter does) unless --no-token; the session secret comes from a
per-installation file made on first use. circusd starts it as the watcher `circushttpd` when
`[circus] httpd = true`. Exit codes are the named constants below.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import logging
import os
import secrets
import socket
import sys
from pathlib import Path

from circus_web_stack import __version__

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BIND = 71
EXIT_INSECURE = 77  # sysexits EX_NOPERM: a non-loopback address without a password

PASSWORD_HASH_ENV = "CIRCUSHTTPD_PASSWORD_HASH"  # runtime.daemon passes [circus] httpd_password_hash
READONLY_PASSWORD_HASH_ENV = "CIRCUSHTTPD_READONLY_PASSWORD_HASH"
LOG_FORMAT = "%(asctime)s circushttpd[%(process)d] [%(levelname)s] %(message)s"


def default_secret_file(env: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """$XDG_STATE_HOME/circus-web-stack/circushttpd.secret (~/.local/state/... by default)."""
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "circus-web-stack" / "circushttpd.secret"


def build_parser() -> argparse.ArgumentParser:
    from circus_web_stack.cli.common import Parser, add_curve_key_arguments

    parser = Parser(
        prog="circushttpd",
        description="The live web console of circusd: watchers, processes, sockets, events, output.",
    )
    parser.add_argument(
        "--endpoint",
        action="append",
        help="a circusd's control endpoint; repeat it for several daemons "
        "(default: $CIRCUSCTL_ENDPOINT or the private ipc socket)",
    )
    parser.add_argument(
        "--fleet", help="a fleet file: show its chosen nodes (every node unless --node or --tag)"
    )
    parser.add_argument("--node", action="append", help="with --fleet: this node (repeatable, globs)")
    parser.add_argument("--tag", action="append", help="with --fleet: nodes with this KEY=VALUE tag")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0: any)")
    parser.add_argument(
        "--password-hash",
        default=os.environ.get(PASSWORD_HASH_ENV),
        help=f"the admin password's hash, from --hash-password (${PASSWORD_HASH_ENV})",
    )
    parser.add_argument(
        "--readonly-password-hash",
        default=os.environ.get(READONLY_PASSWORD_HASH_ENV),
        help=f"the read-only password's hash (${READONLY_PASSWORD_HASH_ENV}): sees all, acts on nothing",
    )
    parser.add_argument("--no-token", action="store_true", help="print no login token at start")
    parser.add_argument(
        "--secret-file",
        help=f"the session-signing secret, made on first use (default {default_secret_file()})",
    )
    add_curve_key_arguments(parser)
    parser.add_argument(
        "--curve-key-file",
        help="circusd's own CurveZMQ secret key file (circusd passes it to its helper watcher)",
    )
    parser.add_argument(
        "--hash-password",
        action="store_true",
        help="read a password (twice, from the terminal, or once from stdin) and print its hash",
    )
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error, critical")
    parser.add_argument(
        "--version", action="version", version=f"circushttpd (circus-web-stack) {__version__}"
    )
    return parser


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_or_create_secret(path: Path) -> bytes:
    """The installation's session secret: 32 random bytes in a 0600 file, made once."""
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return data


def _hash_password() -> int:
    from circus_web_stack.web.auth import hash_password

    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            print("circushttpd: the two passwords differ", file=sys.stderr)
            return EXIT_USAGE
    else:
        first = sys.stdin.readline().rstrip("\n")
    if not first:
        print("circushttpd: an empty password is refused", file=sys.stderr)
        return EXIT_USAGE
    print(hash_password(first))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.hash_password:
        return _hash_password()
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    log = logging.getLogger("circus_web_stack.web")
    from circus_web_stack.web.auth import check_hash_format

    for option, value in (
        ("--password-hash", args.password_hash),
        ("--readonly-password-hash", args.readonly_password_hash),
    ):
        if value:
            try:
                check_hash_format(value)
            except ValueError as exc:
                print(f"circushttpd: {option}: {exc}", file=sys.stderr)
                return EXIT_USAGE
    if not is_loopback(args.host) and not args.password_hash:
        print(
            f"circushttpd: refusing to listen on {args.host}, which is not loopback, without a password: "
            "set --password-hash (or [circus] httpd_password_hash) from `circushttpd --hash-password`, "
            "or listen on 127.0.0.1 behind a proxy",
            file=sys.stderr,
        )
        return EXIT_INSECURE
    if not 0 <= args.port <= 65535:
        print(f"circushttpd: --port {args.port}: expected 0-65535", file=sys.stderr)
        return EXIT_USAGE
    try:
        targets = _targets(args)
    except ValueError as exc:
        print(f"circushttpd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    token = None if args.no_token else secrets.token_urlsafe(24)
    if token is None and not (args.password_hash or args.readonly_password_hash):
        print(
            "circushttpd: --no-token needs a password (--password-hash): nobody could log in", file=sys.stderr
        )
        return EXIT_USAGE

    from gevent import monkey

    monkey.patch_all()
    from circus_web_stack.web.serve import serve

    secret = load_or_create_secret(Path(args.secret_file) if args.secret_file else default_secret_file())
    try:
        listener = socket.create_server(
            (args.host, args.port),
            family=socket.AF_INET6 if ":" in args.host else socket.AF_INET,
            backlog=128,
        )
    except OSError as exc:
        print(f"circushttpd: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_BIND
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    log.info(
        "serving the console of %s on http://%s:%d/",
        ", ".join(t.node or t.endpoint for t in targets),
        shown,
        port,
    )
    if token is not None:
        # On stderr, so it reaches circusd's log when circusd runs us as its helper watcher.
        print(
            f"circushttpd: log in at http://{shown}:{port}/login?token={token}", file=sys.stderr, flush=True
        )
    return serve(listener, targets, secret, args.password_hash, args.readonly_password_hash, token)


def _targets(args: argparse.Namespace):  # -> list[web.serve.Target]
    """The daemons to show: --fleet's chosen nodes (each with its keys), else each --endpoint."""
    from circus_web_stack.client.daemon import default_endpoint
    from circus_web_stack.web.serve import Target

    if not args.fleet:
        curve = _curve(args)
        return [Target(endpoint, curve) for endpoint in args.endpoint or [default_endpoint()]]
    from circus_web_stack.cli.fleet_session import load_fleet
    from circus_web_stack.client.fleet import node_curve_keys
    from circus_web_stack.client.fleet_file import Selection, SelectionError, select_nodes
    from circus_web_stack.core.errors import ConfigError

    try:
        fleet = load_fleet(args.fleet)
        chosen = Selection(tuple(args.node or ()), tuple(args.tag or ()), not (args.node or args.tag))
        return [Target(n.endpoint, node_curve_keys(n), n.name) for n in select_nodes(fleet, chosen)]
    except (ConfigError, SelectionError) as exc:
        raise ValueError(str(exc)) from None


def _curve(args: argparse.Namespace):  # -> CurveKeys | None
    from circus_web_stack.client.daemon import CurveKeys, curve_keys_from_options

    if args.curve_key_file:
        import zmq.auth

        public, secret = zmq.auth.load_certificate(args.curve_key_file)
        if secret is None:
            raise ValueError(f"--curve-key-file {args.curve_key_file} holds no secret key")
        # circusd's own key pair doubles as our client key, as for circusd-stats.
        return CurveKeys(public, public, secret)
    return curve_keys_from_options(args.curve_server_key, args.curve_client_key)


if __name__ == "__main__":
    sys.exit(main())
