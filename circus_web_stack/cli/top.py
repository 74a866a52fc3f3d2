"""`circus-top`: a live console of a daemon's stats stream: watchers and their processes (CPU, memory,
age), the daemon itself, and its listening sockets (accept queue, connections accepted, drops).

Rules: the model (cli/top_model.py) and the screen (cli/top_screen.py) are pure functions of the
messages received and the clock, tested without a terminal; this loop only moves bytes. Keys: q quit,
c sort by CPU, m sort by memory, w next watcher, a all watchers; Ctrl-C quits too. The screen is
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

from rich.console import Console, RenderableType

from circus_web_stack import __version__
from circus_web_stack.cli.common import Parser, add_curve_key_arguments, exit_quietly_on_closed_stdout
from circus_web_stack.cli.exit_codes import EXIT_OK, EXIT_USAGE
from circus_web_stack.cli.top_model import SORT_KEYS, TopState, View, handle_key
from circus_web_stack.cli.top_screen import describe_silence, render
from circus_web_stack.client.daemon import apply_curve, curve_keys_from_options
from circus_web_stack.protocol.stats import STATS_TOPIC_PREFIX

# ---------------------------------------------------------------------------------------------------
# The terminal loop.


def build_parser() -> argparse.ArgumentParser:
    from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir

    default = default_endpoints(default_runtime_dir(os.environ, os.getuid()))["stats"]
    parser = Parser(
        prog="circus-top", description="Watch a circusd's processes and sockets live."
    )
    parser.add_argument("--endpoint", default=default, help=f"the stats endpoint (default {default})")
    add_curve_key_arguments(parser)
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


@exit_quietly_on_closed_stdout
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import json

    import zmq
    from rich.live import Live
    from zmq.utils.monitor import recv_monitor_message

    try:
        curve = curve_keys_from_options(args.curve_server_key, args.curve_client_key)
    except ValueError as exc:
        print(f"circus-top: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    apply_curve(sub, curve)
    sub.setsockopt(zmq.SUBSCRIBE, STATS_TOPIC_PREFIX.encode())
    monitor = sub.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_DISCONNECTED)
    sub.connect(args.endpoint)
    connected: list[bool | None] = [None]
    state = TopState()
    view = View(sort=args.sort, watcher=args.watcher)
    console = Console()
    started_at = time.monotonic()
    resized = [False]
    signal.signal(signal.SIGWINCH, lambda *_: resized.__setitem__(0, True))

    def screen(now: float) -> RenderableType:
        problem = describe_silence(args.endpoint, state, now, started_at, connected[0])
        size = console.size
        return render(
            state,
            view,
            now=now,
            endpoint=args.endpoint,
            height=size.height,
            width=size.width,
            problem=problem,
        )

    quit_reason = "quit"
    try:
        with (
            _keys() as keys_fd,
            Live(screen(time.monotonic()), console=console, screen=True, auto_refresh=False) as live,
        ):
            poller = zmq.Poller()
            poller.register(sub, zmq.POLLIN)
            poller.register(monitor, zmq.POLLIN)
            if keys_fd is not None:
                poller.register(keys_fd, zmq.POLLIN)
            # A pipe's reader going away (`circus-top | less`, then q) shows as POLLERR on our end even
            # while nothing is written, which is all the time when stdout is no terminal.
            out_fd = sys.stdout.fileno()
            poller.register(out_fd, zmq.POLLERR)
            drawn_at = 0.0
            while True:
                ready = dict(poller.poll(200))
                now = time.monotonic()
                redraw = resized[0] or now - drawn_at >= 1.0
                resized[0] = False
                if sub in ready:
                    while True:
                        try:
                            topic, body = sub.recv_multipart(zmq.NOBLOCK)[:2]
                        except (zmq.Again, ValueError):
                            break
                        with contextlib.suppress(ValueError, UnicodeDecodeError):
                            redraw |= state.apply(topic.decode(), json.loads(body), now)
                if monitor in ready:
                    while monitor.poll(0):
                        event = recv_monitor_message(monitor)["event"]
                        connected[0] = event == zmq.EVENT_CONNECTED
                    redraw = True
                if out_fd in ready:
                    raise BrokenPipeError(f"stdout's reader is gone ({os.strerror(errno.EPIPE)})")
                if keys_fd is not None and keys_fd in ready:
                    for key in os.read(keys_fd, 64).decode("utf-8", "replace"):
                        new = handle_key(key, view, state)
                        if new is None:
                            return EXIT_OK
                        view, redraw = new, True
                if redraw:
                    timeout = args.process_timeout or max(3.0, 3 * (state.interval_s or 1.0))
                    state.expire(now, timeout)
                    live.update(screen(now), refresh=True)
                    drawn_at = now
    except KeyboardInterrupt:
        quit_reason = "interrupted"
        return EXIT_OK
    except BrokenPipeError:
        quit_reason = "stdout closed"
        raise
    finally:
        sub.disable_monitor()
        monitor.close(linger=0)
        sub.close(linger=0)
        print(f"circus-top: {quit_reason}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
