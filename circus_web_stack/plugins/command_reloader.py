"""CommandReloader: every loop_rate seconds, the program of each watcher (its `executable`, else the
first word of its cmd) is looked up, on the watcher's PATH when it has no slash; when the file's
real path or mtime changed since the last look, the watcher gets a graceful `reload` (new processes
ready before the old ones stop), where Circus restarted it with a gap.

Fixed from Circus: cmd with arguments (`python app.py`: Circus stat()ed the whole line and raised),
a program found on PATH (Circus stat()ed `python` in the working directory), and a program that is
missing for a moment (a deploy replacing it) is skipped until it is back, instead of crashing.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from dataclasses import dataclass
from typing import Any, ClassVar

from circus_web_stack.config.declaration import option
from circus_web_stack.config.kinds import Seconds
from circus_web_stack.plugins.base import PeriodicPlugin

log = logging.getLogger("circus_web_stack.plugins.command_reloader")


@dataclass(frozen=True)
class CommandReloaderOptions:
    loop_rate: float = option(Seconds(positive=True), 1.0, "seconds between two looks at the programs")


def program_path(cmd: str, executable: str | None, working_dir: str | None, path: str | None) -> str | None:
    """The file a watcher runs, resolved to its real path; None when it cannot be found now."""
    program = executable
    if not program:
        try:
            words = shlex.split(cmd)
        except ValueError:
            return None
        if not words:
            return None
        program = words[0]
    if "/" not in program:
        found = shutil.which(program, path=path if path is not None else os.environ.get("PATH"))
        if found is None:
            return None
        program = found
    elif not os.path.isabs(program):
        program = os.path.join(working_dir or os.getcwd(), program)
    real = os.path.realpath(program)
    return real if os.path.isfile(real) else None


@dataclass(frozen=True)
class Seen:
    path: str
    mtime_ns: int


class CommandReloader(PeriodicPlugin):
    name = "command_reloader"
    options_model: ClassVar[type] = CommandReloaderOptions
    options: CommandReloaderOptions

    def __init__(self, *args: Any, **config: Any) -> None:
        super().__init__(*args, **config)
        self.cmd_files: dict[str, Seen] = {}

    def _seen(self, watcher: str) -> Seen | None:
        reply = self.call("get", name=watcher, keys=["cmd", "executable", "working_dir", "env"])
        options = reply.get("options")
        if reply.get("status") == "error" or not isinstance(options, dict):
            return None
        env = options.get("env") or {}
        path = program_path(
            str(options.get("cmd") or ""),
            options.get("executable"),
            options.get("working_dir"),
            env.get("PATH") if isinstance(env, dict) else None,
        )
        if path is None:
            return None
        try:
            return Seen(path, os.stat(path).st_mtime_ns)
        except OSError:
            return None

    def look_after(self) -> None:
        listed = self.call("list")
        watchers = [w for w in listed.get("watchers", []) if not w.startswith("plugin:")]
        for gone in set(self.cmd_files) - set(watchers):
            del self.cmd_files[gone]
        for watcher in watchers:
            now = self._seen(watcher)
            if now is None:
                continue  # not there for now (being replaced): look again next time
            before = self.cmd_files.get(watcher)
            if before is None or before.path != now.path:
                log.info("%s: watching %s", watcher, now.path)
            if before is not None and before != now:
                why = "was replaced" if before.path != now.path else "changed"
                log.info("%s: %s %s; reloading it (graceful)", watcher, now.path, why)
                reply = self.call("reload", name=watcher, graceful=True)
                if reply.get("status") == "error":
                    log.error("%s: reload refused: %s", watcher, reply.get("reason"))
            self.cmd_files[watcher] = now


__all__ = ["CommandReloader", "CommandReloaderOptions", "program_path"]
