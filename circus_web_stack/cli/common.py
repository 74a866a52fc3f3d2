"""What several cli programs share: an argparse parser that suggests the nearest flag, argparse types,
how an age reads, and a quiet end when the reader of stdout goes away (`circusctl list | head -1`).

Rule: small pure helpers, plus `exit_quietly_on_closed_stdout`, the one place that handles a closed
pipe for circusctl, circus-top and circusd-stats alike.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec

from circus_web_stack.cli.exit_codes import EXIT_CLOSED_PIPE
from circus_web_stack.client.daemon import CURVE_CLIENT_KEY_ENV, CURVE_SERVER_KEY_ENV
from circus_web_stack.core.suggest import did_you_mean
from circus_web_stack.protocol.stats import NOT_AVAILABLE

P = ParamSpec("P")


class Parser(argparse.ArgumentParser):
    """argparse for every circus-web-stack program: an unknown flag gets the nearest valid one
    (`--log-levle`: did you mean '--log-level'?), as a mistyped config key does. Python 3.11's
    argparse only says "unrecognized arguments"."""

    def error(self, message: str) -> NoReturn:
        super().error(self.suggest(message))

    def suggest(self, message: str) -> str:
        prefix = "unrecognized arguments: "
        if not message.startswith(prefix):
            return message
        flags = [flag for action in self._actions for flag in action.option_strings]
        words = [
            word + did_you_mean(word.partition("=")[0], flags) if word.startswith("--") else word
            for word in message[len(prefix) :].split(" ")
        ]
        return prefix + " ".join(words)


def positive_seconds(text: str) -> float:
    """argparse type: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return value


def format_age(seconds: object, *, tenths: bool = False) -> str:
    """5s (or 5.4s with tenths), 4m05s, 3h07m, 2d04h; text as it is, anything else N/A."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return seconds if isinstance(seconds, str) else NOT_AVAILABLE
    if seconds < 60:
        return f"{seconds:.1f}s" if tenths else f"{int(seconds)}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def exit_quietly_on_closed_stdout(main: Callable[P, int]) -> Callable[P, int]:
    """`main`, ending with EXIT_CLOSED_PIPE (128 + SIGPIPE, what a shell shows for a program killed
    by SIGPIPE) and no traceback when stdout's reader has gone away.

    Python ignores SIGPIPE, so a write to a closed pipe raises BrokenPipeError, either where the
    program prints or when the interpreter flushes stdout at exit. stdout is pointed at /dev/null
    so that the exit flush cannot fail a second time."""

    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            code = main(*args, **kwargs)
            sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
            return EXIT_CLOSED_PIPE
        return code

    return run


def silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's StringIO)
        pass
    finally:
        os.close(devnull)


def add_curve_key_arguments(parser: argparse.ArgumentParser) -> None:
    """circusctl's --curve-server-key and --curve-client-key (defaults from their environment
    variables), for every tool that talks to a daemon over CurveZMQ."""
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
