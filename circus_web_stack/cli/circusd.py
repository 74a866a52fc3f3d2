"""`circusd [config]`: load the config, bind the sockets, run the watchers until a signal says stop.

Exit codes are the named constants below; a bad config or an unbindable socket is reported in one
message naming the file, line or address, before any process starts.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import logging.config as logging_config
import logging.handlers
import os
import sys
from urllib.parse import urlparse

import zmq

from circus_web_stack import __version__
from circus_web_stack.cli.common import Parser
from circus_web_stack.cli.exit_codes import EXIT_BIND, EXIT_CONFIG, EXIT_PIDFILE
from circus_web_stack.core.errors import ConfigError, SocketBindError

LOG_FORMAT = "%(asctime)s circusd[%(process)d] [%(levelname)s] %(message)s"


class SafeWatchedFileHandler(logging.handlers.WatchedFileHandler):
    """Reopens the file after logrotate moves it (circus#1152). The stdlib's reopens outside its error
    handling, so a log directory that vanished made every log call raise, and supervision with it;
    here a failing write is reported on stderr and the daemon goes on."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)
        except Exception:
            self.handleError(record)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="circusd", description="Run a Circus-style process and socket manager.")
    parser.add_argument("config", help="the circus.ini file")
    parser.add_argument("--log-level", dest="loglevel", help="debug, info, warning, error, critical")
    parser.add_argument(
        "--log-output",
        dest="logoutput",
        help="'-' for stdout, a file path, or syslog://host:port?facility / syslog:///dev/log",
    )
    parser.add_argument("--logger-config", dest="loggerconfig", help="a logging dictConfig file (.ini/.json)")
    parser.add_argument("--daemon", action="store_true", help="detach from the terminal")
    parser.add_argument("--pidfile", help="write the daemon's pid here")
    parser.add_argument("--version", action="version", version=f"circusd (circus-web-stack) {__version__}")
    return parser


def configure_logging(level: str, output: str, loggerconfig: str | None) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if loggerconfig and loggerconfig != "default":
        if loggerconfig.endswith(".json"):
            with open(loggerconfig) as f:
                logging_config.dictConfig(json.load(f))
        else:
            logging_config.fileConfig(loggerconfig, disable_existing_loggers=False)
        return
    handler: logging.Handler
    if output in ("-", "stdout"):
        handler = logging.StreamHandler(sys.stdout)
    elif output == "stderr":
        handler = logging.StreamHandler(sys.stderr)
    elif output.startswith("syslog://"):
        url = urlparse(output)
        facility = url.query or "user"
        address = url.path if not url.netloc else (url.hostname or "localhost", url.port or 514)
        handler = logging.handlers.SysLogHandler(address=address, facility=facility)
    else:
        handler = SafeWatchedFileHandler(output)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())


def daemonize() -> None:
    """Double fork and detach. Runs before the gevent hub has anything to do, and reinitialises it."""
    import gevent

    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    gevent.reinit()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def write_pidfile(path: str) -> None:
    import psutil

    with contextlib.suppress(FileNotFoundError, ValueError):
        with open(path) as f:
            old = int(f.read().strip() or 0)
        if old and old != os.getpid() and psutil.pid_exists(old):
            raise OSError(f"pidfile {path} names pid {old}, which is still running")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, path)


def raise_open_files_limit() -> None:
    """Each process costs the daemon two or three fds (a pidfd, its pipes): take the hard limit, so a
    soft limit of 1024 does not cap a watcher at a few hundred processes. Children inherit it; a
    watcher's rlimit_nofile gives them another."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from circus_web_stack.config.loader import load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"circusd: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    daemon_cfg = config.daemon
    configure_logging(
        args.loglevel or daemon_cfg.loglevel,
        args.logoutput or daemon_cfg.logoutput,
        args.loggerconfig or daemon_cfg.loggerconfig,
    )
    for warning in config.warnings:
        logging.getLogger("circus_web_stack.config").warning("%s", warning)
    raise_open_files_limit()
    if daemon_cfg.umask is not None:
        os.umask(daemon_cfg.umask)
    if daemon_cfg.debug_gc:
        gc.set_debug(gc.DEBUG_LEAK)
    if args.daemon and os.getpid() == 1:
        # PID 1 that forked away would end its container (or namespace) at once.
        logging.getLogger("circus_web_stack").warning("--daemon ignored: circusd is PID 1")
    elif args.daemon:
        daemonize()
    pidfile = args.pidfile or daemon_cfg.pidfile
    if pidfile:
        try:
            write_pidfile(pidfile)
        except OSError as exc:
            print(f"circusd: {exc}", file=sys.stderr)
            return EXIT_PIDFILE
    from circus_web_stack.runtime.daemon import build_arbiter

    try:
        arbiter = build_arbiter(config)
        arbiter.start()
        # Not EXIT_OK when exit_on_failure stopped it: then the failed process's code.
        exit_code = arbiter.exit_code
    except ConfigError as exc:
        logging.getLogger("circus_web_stack").error("%s", exc)
        return EXIT_CONFIG
    except SocketBindError as exc:
        logging.getLogger("circus_web_stack").error("%s", exc)
        return EXIT_BIND
    except (OSError, zmq.ZMQError) as exc:
        # The control or pubsub endpoint could not be bound (in use, no permission, bad path).
        logging.getLogger("circus_web_stack").error("cannot open the control endpoints: %s", exc)
        print(f"circusd: cannot open the control endpoints: {exc}", file=sys.stderr)
        return EXIT_BIND
    finally:
        if pidfile:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(pidfile)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
