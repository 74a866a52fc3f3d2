"""`circus-top`: a live console of a daemon's stats stream: watchers and their processes (CPU, memory,
age), the daemon itself, and its listening sockets (accept queue, connections accepted, drops).

Rules: the model (cli/top_model.py) and the screen (cli/top_screen.py) are pure functions of the
messages received and the clock, tested without a terminal; this loop only moves bytes. Keys: q quit,
c sort by CPU, m sort by memory, w next watcher, n next node (with --fleet: one stream per node, a
NODE column), a all; Ctrl-C quits too. The screen is
redrawn when a sample completes and whenever the terminal is resized; a stream that never comes or
stops is said so on screen.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import time
from collections.abc import Iterator

import zmq
from rich.console import Console, RenderableType

from circus_web_stack import __version__
from circus_web_stack.cli.common import Parser, add_curve_key_arguments, exit_quietly_on_closed_stdout
from circus_web_stack.cli.exit_codes import EXIT_OK, EXIT_USAGE
from circus_web_stack.cli.top_model import SORT_KEYS, TopState, View, handle_key
from circus_web_stack.cli.top_screen import describe_silence, render
from circus_web_stack.client.daemon import CurveKeys, apply_curve, curve_keys_from_options
from circus_web_stack.client.fleet import FleetClient, node_curve_keys
from circus_web_stack.protocol.stats import STATS_TOPIC_PREFIX

# ---------------------------------------------------------------------------------------------------
# The terminal loop.

ASK_TIMEOUT_S = 0.5  # asking a fleet's node for its stats endpoint, at start and every RESOLVE_EVERY_S
RESOLVE_EVERY_S = 5.0


def build_parser() -> argparse.ArgumentParser:
    from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir

    default = default_endpoints(default_runtime_dir(os.environ, os.getuid()))["stats"]
    parser = Parser(prog="circus-top", description="Watch a circusd's processes and sockets live.")
    parser.add_argument("--endpoint", default=default, help=f"the stats endpoint (default {default})")
    add_curve_key_arguments(parser)
    parser.add_argument("--fleet", help="a fleet file: every chosen node's stats, with a NODE column (key n)")
    parser.add_argument("--node", action="append", help="with --fleet: this node (repeatable, globs)")
    parser.add_argument("--tag", action="append", help="with --fleet: nodes with this KEY=VALUE tag")
    parser.add_argument("--all", action="store_true", help="with --fleet: every node (the default)")
    parser.add_argument(
        "--process-timeout",
        type=float,
        default=None,
        help="seconds after which a process the stream stopped mentioning is dropped (default 3 intervals)",
    )
    parser.add_argument("--watcher", help="show only this watcher (key w cycles, a shows all)")
    parser.add_argument("--sort", choices=SORT_KEYS, default="cpu", help="sort by cpu or mem (keys c, m)")
    parser.add_argument("--version", action="version", version=f"circus-top (circus-web-stack) {__version__}")
    return parser


@contextlib.contextmanager
def _keys() -> Iterator[int | None]:
    """stdin in cbreak mode (keys arrive one by one, unechoed), restored on the way out."""
    if not sys.stdin.isatty():
        yield None
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Feed:
    """One stats stream (one node of a fleet, or the one daemon): its SUB socket, its connection
    monitor and what it said. `endpoint` None: not known yet (the node did not answer)."""

    def __init__(self, node: str, endpoint: str | None, curve: CurveKeys | None) -> None:
        self.node, self.endpoint, self.curve = node, endpoint, curve
        self.state = TopState()
        self.connected: bool | None = None
        self.sub: zmq.Socket | None = None
        self.monitor: zmq.Socket | None = None

    def open(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.sub = zmq.Context.instance().socket(zmq.SUB)
        self.sub.linger = 0
        apply_curve(self.sub, self.curve)
        self.sub.setsockopt(zmq.SUBSCRIBE, STATS_TOPIC_PREFIX.encode())
        self.monitor = self.sub.get_monitor_socket(
            zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_DISCONNECTED
        )
        self.sub.connect(endpoint)

    def close(self) -> None:
        if self.sub is not None and self.monitor is not None:
            self.sub.disable_monitor()
            self.monitor.close(linger=0)
            self.sub.close(linger=0)

    def silence(self, now: float, started_at: float) -> str | None:
        if self.endpoint is None:
            return f"{self.node}: no answer yet to ask its stats endpoint (retrying; or set stats_endpoint)"
        problem = describe_silence(self.endpoint, self.state, now, started_at, self.connected)
        return f"{self.node}: {problem}" if problem and self.node else problem


def _feeds(args: argparse.Namespace) -> tuple[list[Feed], FleetClient | None]:
    """The one daemon's feed, or a feed per chosen node of --fleet (ValueError: a usage problem)."""
    if not args.fleet:
        feed = Feed("", None, curve_keys_from_options(args.curve_server_key, args.curve_client_key))
        feed.open(args.endpoint)
        return [feed], None
    from circus_web_stack.cli.fleet_session import load_fleet
    from circus_web_stack.client.fleet_file import Selection, select_nodes
    from circus_web_stack.core.errors import ConfigError

    try:
        fleet = load_fleet(args.fleet)
        nodes = select_nodes(
            fleet,
            Selection(tuple(args.node or ()), tuple(args.tag or ()), args.all or not (args.node or args.tag)),
        )
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    client = FleetClient(fleet, timeout=ASK_TIMEOUT_S)
    feeds = [Feed(node.name, None, node_curve_keys(node)) for node in nodes]
    _resolve(client, feeds)
    return feeds, client


def _resolve(client: FleetClient, feeds: list[Feed]) -> None:
    """Open the feeds whose node now tells its stats endpoint."""
    waiting = [client.fleet.node(f.node) for f in feeds if f.endpoint is None]
    if not waiting:
        return
    found = client.endpoints(waiting)
    for feed in feeds:
        stats = found.get(feed.node, {}).get("stats")
        if feed.endpoint is None and stats:
            feed.open(stats)


@exit_quietly_on_closed_stdout
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import json

    from rich.live import Live
    from zmq.utils.monitor import recv_monitor_message

    try:
        feeds, fleet_client = _feeds(args)
    except ValueError as exc:
        print(f"circus-top: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # the count first: a long path is what the header cuts
    shown_endpoint = f"fleet ({len(feeds)} nodes) {args.fleet}" if args.fleet else args.endpoint
    view = View(sort=args.sort, watcher=args.watcher)
    console = Console()
    started_at = time.monotonic()
    resized = [False]
    signal.signal(signal.SIGWINCH, lambda *_: resized.__setitem__(0, True))

    def screen(now: float) -> RenderableType:
        problems = [p for p in (feed.silence(now, started_at) for feed in feeds) if p]
        size = console.size
        states = feeds[0].state if not args.fleet else {feed.node: feed.state for feed in feeds}
        return render(
            states,
            view,
            now=now,
            endpoint=shown_endpoint,
            height=size.height,
            width=size.width,
            problem="\n".join(problems) or None,
        )

    quit_reason = "quit"
    try:
        with (
            _keys() as keys_fd,
            Live(screen(time.monotonic()), console=console, screen=True, auto_refresh=False) as live,
        ):
            poller = zmq.Poller()
            registered: set[int] = set()

            def register_feeds() -> None:
                for i, feed in enumerate(feeds):
                    if feed.sub is not None and i not in registered:
                        poller.register(feed.sub, zmq.POLLIN)
                        poller.register(feed.monitor, zmq.POLLIN)
                        registered.add(i)

            register_feeds()
            if keys_fd is not None:
                poller.register(keys_fd, zmq.POLLIN)
            # A pipe's reader going away (`circus-top | less`, then q) shows as POLLERR on our end even
            # while nothing is written, which is all the time when stdout is no terminal.
            out_fd = sys.stdout.fileno()
            poller.register(out_fd, zmq.POLLERR)
            drawn_at = asked_at = 0.0
            while True:
                ready = dict(poller.poll(200))
                now = time.monotonic()
                redraw = resized[0] or now - drawn_at >= 1.0
                resized[0] = False
                if fleet_client is not None and now - asked_at >= RESOLVE_EVERY_S:
                    asked_at = now
                    _resolve(fleet_client, feeds)
                    register_feeds()
                for feed in feeds:
                    if feed.sub is not None and feed.sub in ready:
                        while True:
                            try:
                                topic, body = feed.sub.recv_multipart(zmq.NOBLOCK)[:2]
                            except (zmq.Again, ValueError):
                                break
                            with contextlib.suppress(ValueError, UnicodeDecodeError):
                                redraw |= feed.state.apply(topic.decode(), json.loads(body), now)
                    if feed.monitor is not None and feed.monitor in ready:
                        while feed.monitor.poll(0):
                            feed.connected = (
                                recv_monitor_message(feed.monitor)["event"] == zmq.EVENT_CONNECTED
                            )
                        redraw = True
                if out_fd in ready:
                    raise BrokenPipeError(f"stdout's reader is gone ({os.strerror(errno.EPIPE)})")
                if keys_fd is not None and keys_fd in ready:
                    states = {feed.node: feed.state for feed in feeds}
                    for key in os.read(keys_fd, 64).decode("utf-8", "replace"):
                        new = handle_key(key, view, states)
                        if new is None:
                            return EXIT_OK
                        view, redraw = new, True
                if redraw:
                    for feed in feeds:
                        timeout = args.process_timeout or max(3.0, 3 * (feed.state.interval_s or 1.0))
                        feed.state.expire(now, timeout)
                    live.update(screen(now), refresh=True)
                    drawn_at = now
    except KeyboardInterrupt:
        quit_reason = "interrupted"
        return EXIT_OK
    except BrokenPipeError:
        quit_reason = "stdout closed"
        raise
    finally:
        for feed in feeds:
            feed.close()
        if fleet_client is not None:
            fleet_client.close()
        print(f"circus-top: {quit_reason}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
