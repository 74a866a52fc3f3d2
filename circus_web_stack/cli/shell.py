"""circusctl's interactive shell: `circusctl` with no command. Its own module so that a one-shot
command does not pay for cmd and readline at start-up."""

from __future__ import annotations

import cmd
import contextlib
import os
import shlex
import time
from types import ModuleType
from typing import TextIO

from circus_web_stack.cli.argv import PROG
from circus_web_stack.cli.exit_codes import EXIT_OK, EXIT_USAGE
from circus_web_stack.cli.grammar import GRAMMAR, Arity
from circus_web_stack.cli.help import print_help
from circus_web_stack.cli.session import Session, run_command
from circus_web_stack.client.daemon import CallError

HISTORY_FILE = "~/.circusctl_history"
NAME_CACHE_S = 5.0  # how long tab completion reuses the watcher names it asked for


class CircusShell(cmd.Cmd):
    """`circusctl` with no command: one command per line, tab completion of commands and watcher
    names, readline history in ~/.circusctl_history. `exit` or Ctrl-D leaves; Ctrl-C clears the line.
    Note that `quit` is the daemon command that stops circusd, as in Circus."""

    def __init__(self, session: Session, stdin: TextIO, interactive: bool) -> None:
        super().__init__(stdin=stdin, stdout=session.out)
        self.session = session
        self.use_rawinput = interactive
        self.prompt = "(circusctl) " if interactive else ""
        self.last_status = EXIT_OK
        self._names: list[str] = []
        self._names_at = -NAME_CACHE_S

    def default(self, line: str) -> None:
        words = _split(line, self.session.err)
        if words is None:
            self.last_status = EXIT_USAGE
            return
        if words[0] in ("help", "?"):
            self.last_status = print_help(
                self.session.out, self.session.err, words[1] if len(words) > 1 else None
            )
            return
        self.last_status = run_command(self.session, words[0], words[1:])

    def do_help(self, arg: str) -> None:
        self.last_status = print_help(self.session.out, self.session.err, arg.strip() or None)

    def do_exit(self, arg: str) -> bool:
        """Leave the shell (circusd keeps running)."""
        return True

    def do_EOF(self, arg: str) -> bool:
        if self.use_rawinput:
            print(file=self.session.out)
        return True

    def emptyline(self) -> bool:
        # cmd.Cmd repeats the last command on an empty line; repeating `quit` or `decr` is not wanted.
        return False

    def completenames(self, text: str, *ignored: object) -> list[str]:
        names = [*GRAMMAR, "help", "exit"]
        return [n for n in names if n.startswith(text)]

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        words = line[:begidx].split()
        grammar = GRAMMAR.get(words[0]) if words else None
        if grammar is None or len(words) != 1 or not grammar.positionals:
            return []
        first = grammar.positionals[0]
        if first.prop != "name" or first.arity not in (Arity.ONE, Arity.OPTIONAL):
            return []
        return [n for n in self._watcher_names() if n.startswith(text)]

    def _watcher_names(self) -> list[str]:
        if time.monotonic() - self._names_at < NAME_CACHE_S:
            return self._names
        try:
            reply = self.session.client(self.session.options).call_ok("list")
            self._names = [str(n) for n in reply.get("watchers", [])]
        except CallError:
            self._names = []
        self._names_at = time.monotonic()
        return self._names


def run_shell(session: Session, stdin: TextIO, version: str) -> int:
    """The interactive shell; reads commands from `stdin` (a pipe works: one command per line).
    Returns the exit code of the last command run, so a piped script can check it."""
    interactive = stdin.isatty()
    shell = CircusShell(session, stdin, interactive)
    history = os.path.expanduser(HISTORY_FILE)
    readline = _load_readline(history) if interactive else None
    if interactive:
        shell.intro = f"{PROG} {version} on {session.options.endpoint}; 'help' lists commands, Ctrl-D leaves."
    try:
        while True:
            try:
                shell.cmdloop()
                break
            except KeyboardInterrupt:
                print("^C", file=session.out)
                shell.intro = None
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history)
            except OSError as exc:
                print(f"{PROG}: could not save history to {history}: {exc}", file=session.err)
    return shell.last_status


def _load_readline(history: str) -> ModuleType | None:
    try:
        import readline
    except ImportError:
        return None
    readline.set_history_length(1000)
    if os.path.exists(history):
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
    return readline


def _split(line: str, err: TextIO) -> list[str] | None:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        print(f"{PROG}: {exc} in {line!r}", file=err)
        return None
    return words or None
