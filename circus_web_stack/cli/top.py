"""`circus-top`: a live console of a daemon's stats stream: watchers and their processes (CPU, memory,
age), the daemon itself, and its listening sockets (accept queue, connections accepted, drops).

Rules: the model (TopState) and the screen (render) are pure functions of the messages received and the
clock, tested without a terminal; the loop only moves bytes. Keys: q quit, c sort by CPU, m sort by
memory, w next watcher, a all watchers; Ctrl-C quits too. The screen is redrawn when a sample completes
and whenever the terminal is resized; a stream that never comes or stops is said so on screen.
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
from dataclasses import dataclass, field, replace
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from circus_web_stack import __version__
from circus_web_stack.cli.client import (
    CURVE_CLIENT_KEY_ENV,
    CURVE_SERVER_KEY_ENV,
    apply_curve,
    curve_keys_from_options,
)
from circus_web_stack.cli.common import exit_quietly_on_closed_stdout, format_age
from circus_web_stack.cli.exit_codes import EXIT_OK, EXIT_USAGE
from circus_web_stack.protocol.stats import (
    CIRCUS_TOPIC,
    NOT_AVAILABLE,
    SOCKETS_TOPIC,
    STATS_TOPIC_PREFIX,
    human_bytes,
)

SORT_KEYS = ("cpu", "mem")


# ---------------------------------------------------------------------------------------------------
# The model: what the stream said, and when.


@dataclass
class WatcherView:
    totals: dict = field(default_factory=dict)
    processes: dict[int, tuple[dict, float]] = field(default_factory=dict)  # pid -> (info, received)


@dataclass
class TopState:
    watchers: dict[str, WatcherView] = field(default_factory=dict)
    circus: dict[int, tuple[dict, float]] = field(default_factory=dict)
    sockets: dict[int, tuple[dict, float]] = field(default_factory=dict)
    first_message_at: float | None = None
    last_message_at: float | None = None
    last_sample_at: float | None = None
    interval_s: float | None = None  # measured between two completed samples

    def apply(self, topic: str, payload: dict, now: float) -> bool:
        """Take one message; True when it completes a sample (the `stat.circus` totals come last)."""
        if not topic.startswith(STATS_TOPIC_PREFIX) or not isinstance(payload, dict):
            return False
        self.first_message_at = self.first_message_at or now
        self.last_message_at = now
        rest = topic[len(STATS_TOPIC_PREFIX) :]
        sub = payload.get("subtopic")
        if sub is not None:  # one process or one socket: the topic ends in ".<subtopic>"
            group = rest.removesuffix(f".{sub}")
            if group == SOCKETS_TOPIC:
                self.sockets[int(sub)] = (payload, now)
            elif group == CIRCUS_TOPIC:
                self.circus[int(sub)] = (payload, now)
            else:
                self.watchers.setdefault(group, WatcherView()).processes[int(sub)] = (payload, now)
            return False
        if rest == CIRCUS_TOPIC:
            if self.last_sample_at is not None:
                measured = now - self.last_sample_at
                self.interval_s = (
                    measured if self.interval_s is None else 0.7 * self.interval_s + 0.3 * measured
                )
            self.last_sample_at = now
            return True
        if rest != SOCKETS_TOPIC:
            self.watchers.setdefault(rest, WatcherView()).totals = payload
        return False

    def expire(self, now: float, timeout_s: float) -> None:
        """Forget processes, sockets and watchers the stream has not mentioned for `timeout_s`."""
        for table in (self.circus, self.sockets, *(w.processes for w in self.watchers.values())):
            for key in [k for k, (_, at) in table.items() if now - at > timeout_s]:
                del table[key]
        for name in [n for n, w in self.watchers.items() if not w.processes and not w.totals.get("pid")]:
            del self.watchers[name]


@dataclass(frozen=True)
class View:
    sort: str = "cpu"
    watcher: str | None = None  # None: every watcher

    def next_watcher(self, names: list[str]) -> View:
        """Cycle: all -> first -> ... -> last -> all."""
        if not names:
            return replace(self, watcher=None)
        if self.watcher not in names:
            return replace(self, watcher=names[0])
        i = names.index(self.watcher)
        return replace(self, watcher=names[i + 1] if i + 1 < len(names) else None)


def handle_key(key: str, view: View, state: TopState) -> View | None:
    """The view after a key; None means quit."""
    if key in ("q", "Q", "\x03"):
        return None
    if key == "c":
        return replace(view, sort="cpu")
    if key == "m":
        return replace(view, sort="mem")
    if key == "w":
        return view.next_watcher(sorted(state.watchers))
    if key == "a":
        return replace(view, watcher=None)
    return view


# ---------------------------------------------------------------------------------------------------
# The screen.


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else -1.0


def sort_key(sort: str, info: dict) -> float:
    return _number(info.get("cpu")) if sort == "cpu" else _number(info.get("rss_bytes"))


def _watcher_key(sort: str, view: WatcherView) -> float:
    infos = [i for i, _ in view.processes.values()]
    if sort == "cpu":
        return sum(max(0.0, _number(i.get("cpu"))) for i in infos)
    return sum(max(0.0, _number(i.get("rss_bytes"))) for i in infos)


def _cpu(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else NOT_AVAILABLE


def _percent(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else NOT_AVAILABLE


def _bytes(value: Any) -> str:
    return human_bytes(int(value)) if isinstance(value, int | float) else NOT_AVAILABLE


def _count(value: Any) -> str:
    return str(value) if isinstance(value, int) else NOT_AVAILABLE


def allot_rows(sizes: list[int], budget: int) -> list[int | None]:
    """Lines for each watcher's processes when `budget` lines remain for the process table body:
    each shown watcher takes one heading line; None means not even its heading fits (the table then
    ends with one "more watchers" line). Process lines go round-robin, so a big watcher cannot hide the
    small ones. A watcher given fewer lines than it has processes shows "... N more" on its last."""
    headings = len(sizes) if budget >= len(sizes) else max(0, budget - 1)
    lines: list[int | None] = [0] * headings + [None] * (len(sizes) - headings)
    left = budget - headings - (1 if headings < len(sizes) else 0)
    while left > 0:
        progressed = False
        for i in range(headings):
            count = lines[i]
            if left > 0 and count is not None and count < sizes[i]:
                lines[i] = count + 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return lines


def _lines(text: str, width: int) -> int:
    return max(1, -(-len(text) // max(1, width)))


def render(
    state: TopState,
    view: View,
    *,
    now: float,
    endpoint: str,
    height: int,
    width: int = 120,
    problem: str | None = None,
) -> RenderableType:
    """The whole screen, fitted to `height` lines: the sockets table goes first when space is short,
    the key line always stays."""
    interval = f"every {state.interval_s:.1f}s" if state.interval_s else "waiting for a sample"
    age = "" if state.last_message_at is None else f", updated {now - state.last_message_at:.1f}s ago"
    title = Text.assemble(("circus-top ", "bold"), f"{endpoint}  ({interval}{age})")
    head: list[RenderableType] = [_one_line(title), _one_line(_circus_line(state))]
    used = 2 + 2 + 1  # title, circus line, process table heading and rule, key line
    if problem:
        head.append(Text(problem, style="bold red"))
        used += _lines(problem, width)
    sockets_table = _sockets_table(state)
    if sockets_table is not None and height - used - (len(state.sockets) + 2) >= min(4, len(state.watchers)):
        head.append(sockets_table)
        used += len(state.sockets) + 2
    filt = view.watcher or "all watchers"
    keys = Text.assemble(
        ("q", "bold"),
        " quit  ",
        ("c", "bold"),
        " CPU  ",
        ("m", "bold"),
        " memory  ",
        ("w", "bold"),
        " next watcher  ",
        ("a", "bold"),
        " all    ",
        (f"sorted by {'CPU' if view.sort == 'cpu' else 'memory'}, {filt}", "dim"),
    )
    return Group(*head, _process_table(state, view, max(0, height - used)), _one_line(keys))


def _one_line(text: Text) -> Text:
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def _circus_line(state: TopState) -> Text:
    items = []
    for info, _ in sorted(state.circus.values(), key=lambda v: str(v[0].get("name"))):
        items.append(
            f"{info.get('name') or info.get('pid')} pid {info.get('pid')} cpu {_cpu(info.get('cpu'))}% "
            f"rss {_bytes(info.get('rss_bytes'))}"
        )
    return Text("  |  ".join(items) if items else "circusd: no figures yet", style="cyan")


def _sockets_table(state: TopState) -> Table | None:
    if not state.sockets:
        return None
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
    for heading, justify in (
        ("SOCKET", "left"),
        ("ADDRESS", "left"),
        ("QUEUE", "right"),
        ("BACKLOG", "right"),
        ("NEW", "right"),
        ("ACCEPTED", "right"),
        ("OPEN", "right"),
        ("DROPPED", "right"),
    ):
        table.add_column(heading, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
    for fd in sorted(state.sockets):
        info, _ = state.sockets[fd]
        queue = info.get("queue")
        table.add_row(
            str(info.get("name") or fd),
            str(info.get("address")),
            Text(_count(queue), style="bold red" if isinstance(queue, int) and queue > 0 else ""),
            _count(info.get("backlog")),
            _count(info.get("reads")),
            _count(info.get("accepted")),
            _count(info.get("connections")),
            _count(info.get("dropped")),
        )
    return table


def _process_table(state: TopState, view: View, budget: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
    table.add_column("WATCHER / PID", no_wrap=True)
    table.add_column("CPU%", justify="right", no_wrap=True)
    table.add_column("RSS", justify="right", no_wrap=True)
    table.add_column("MEM%", justify="right", no_wrap=True)
    table.add_column("AGE", justify="right", no_wrap=True)
    table.add_column("COMMAND", no_wrap=True, overflow="ellipsis", ratio=1)
    names = [n for n in state.watchers if view.watcher in (None, n)]
    names.sort(key=lambda n: (-_watcher_key(view.sort, state.watchers[n]), n))
    rows = [
        sorted((i for i, _ in state.watchers[n].processes.values()), key=lambda i: -sort_key(view.sort, i))
        for n in names
    ]
    allotted = allot_rows([len(r) for r in rows], budget)
    hidden = 0
    for name, infos, lines in zip(names, rows, allotted, strict=True):
        if lines is None:
            hidden += 1
            continue
        totals = state.watchers[name].totals
        table.add_row(
            Text(f"{name} ({len(infos)})", style="bold"),
            Text(_cpu(totals.get("cpu_total", totals.get("cpu"))), style="bold"),
            Text(_bytes(totals.get("rss_bytes")), style="bold"),
            Text(_percent(totals.get("mem")), style="bold"),
            Text(format_age(totals.get("age")), style="bold"),
            "",
        )
        cut = lines < len(infos)
        for info in infos[: max(0, lines - 1) if cut else lines]:
            table.add_row(
                f"  {info.get('pid')}",
                _cpu(info.get("cpu")),
                _bytes(info.get("rss_bytes")),
                _percent(info.get("mem")),
                format_age(info.get("age")),
                str(info.get("cmdline", "")),
            )
        if cut and lines > 0:
            shown = lines - 1
            table.add_row(Text(f"  ... {len(infos) - shown} more", style="dim"), "", "", "", "", "")
    if hidden:
        table.add_row(Text(f"... {hidden} more watchers (w filters)", style="dim"), "", "", "", "", "")
    if not names and budget > 0:
        table.add_row(Text("no watcher figures yet", style="dim"), "", "", "", "", "")
    return table


def describe_silence(
    endpoint: str, state: TopState, now: float, started_at: float, connected: bool | None = None
) -> str | None:
    """What to tell the operator when the stream is not (or no longer) arriving; None if it is.
    `connected`: what the socket monitor says (None: nothing yet, False: refused or lost)."""
    interval = state.interval_s or 1.0
    patience = max(3.0, 3 * interval)
    if state.last_message_at is not None:
        quiet = now - state.last_message_at
        if quiet <= patience:
            return None
        lost = " (connection lost)" if connected is False else ""
        return f"no statistics for {quiet:.0f}s from {endpoint}{lost}: circusd-stats stopped? (q quits)"
    waited = now - started_at
    path = endpoint[len("ipc://") :] if endpoint.startswith("ipc://") else None
    if path is not None and not os.path.exists(path):
        return (
            f"cannot reach the stats endpoint: {path} does not exist. Is circusd running with "
            "statsd = true, and is this its stats_endpoint (--endpoint)? (q quits)"
        )
    if connected is False:
        return (
            f"cannot connect to the stats endpoint {endpoint} (refused; retrying). Is circusd running with "
            "statsd = true, and is this its stats_endpoint (--endpoint)? (q quits)"
        )
    if waited <= patience:
        return None
    return (
        f"no statistics from {endpoint} after {waited:.0f}s: is circusd running with statsd = true, and is "
        "this its stats_endpoint (--endpoint)? (q quits)"
    )


# ---------------------------------------------------------------------------------------------------
# The terminal loop.


def build_parser() -> argparse.ArgumentParser:
    from circus_web_stack.protocol.endpoints import default_endpoints, default_runtime_dir

    default = default_endpoints(default_runtime_dir(os.environ, os.getuid()))["stats"]
    parser = argparse.ArgumentParser(
        prog="circus-top", description="Watch a circusd's processes and sockets live."
    )
    parser.add_argument("--endpoint", default=default, help=f"the stats endpoint (default {default})")
    parser.add_argument(
        "--curve-server-key",
        default=os.environ.get(CURVE_SERVER_KEY_ENV),
        help=f"circusd's CURVE public key, Z85 or a file (${CURVE_SERVER_KEY_ENV})",
    )
    parser.add_argument(
        "--curve-client-key",
        default=os.environ.get(CURVE_CLIENT_KEY_ENV),
        help=f"this client's CURVE secret key file (${CURVE_CLIENT_KEY_ENV})",
    )
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
