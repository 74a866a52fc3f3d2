"""[watcher:NAME]: a watcher's options, each declared once as a field of WatcherConfig or of its flapping
group FlappingSpec (see options.py's rule).

Build it through config.loader (`load_config`, `parse_watcher`, `set_watcher_option`), which validates;
constructing it directly skips validation. Pure.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from circus_web_stack.config.declaration import group, json_option_values, option
from circus_web_stack.config.families import Env, Hooks, Rlimits, Stream
from circus_web_stack.config.kinds import Args, Bool, Choice, Int, Octal, Seconds, Text
from circus_web_stack.config.os_kinds import Group, Signal, User
from circus_web_stack.config.specs import FrozenMap, HookSpec, StreamSpec, freeze_fields
from circus_web_stack.config.substitution import referenced_sockets

_TEXT = Text(optional=True)
_RETRIES = Int(-1, label="an integer >= -1 (-1: forever)")


@dataclass(frozen=True)
class FlappingSpec:
    """Flapping detection for one watcher (PROTOCOL 5.8): `attempts` exits within `window` seconds mean
    flapping; retry after `retry_in` seconds, at most `max_retry` times (-1: forever). In the ini these
    are `flapping.<name>`, and [plugin:flapping]'s `<name>` keys are every watcher's defaults."""

    attempts: int = option(Int(1), 2, "exits within the window that count as flapping")
    window: float = option(Seconds(positive=True), 1.0, "the window in seconds in which attempts are counted")
    retry_in: float = option(Seconds(0), 7.0, "seconds to wait before starting a flapping watcher again")
    max_retry: int = option(_RETRIES, 5, "restarts after flapping before giving up (-1: forever)")


@dataclass(frozen=True)
class WatcherConfig:
    """[watcher:NAME], or a watcher from the API or the `add` command.

    `cmd` is kept as written (the runtime substitutes spawn-time variables, then splits it unless
    `shell`); `args` is already split. `env` holds only the configured variables ([env], [env:...], the
    API's env); with `copy_env` the runtime starts from the daemon's environment and applies `env` on top.
    `rlimits` maps lower-case names (nofile) to a limit, None meaning RLIM_INFINITY. `extra` holds
    free-form keys, shown by `options`/`get` for plugins.
    """

    name: str
    cmd: str = option(
        Text(),
        "",
        "the program to run, with its arguments",
        settable=True,
        needs_reload=True,
        default_doc="(required)",
    )
    args: tuple[str, ...] = option(
        Args(), (), "more arguments, appended to cmd", settable=True, needs_reload=True
    )
    executable: str | None = option(
        _TEXT, None, "program to execute; cmd then only sets argv[0]", needs_reload=True
    )
    numprocesses: int = option(Int(0), 1, "how many processes to run", settable=True)
    singleton: bool = option(
        Bool(), False, "at most one process, ever (numprocesses must be 0 or 1)", settable=True
    )
    warmup_delay: float = option(Seconds(0), 0.0, "seconds to wait between two spawns", settable=True)
    working_dir: str | None = option(
        _TEXT,
        None,
        "working directory of the processes",
        settable=True,
        needs_reload=True,
        default_doc="the daemon's working directory",
    )
    shell: bool = option(Bool(), False, "run cmd through /bin/sh", settable=True, needs_reload=True)
    shell_args: str | None = option(
        _TEXT, None, "extra arguments for the shell when shell is set", needs_reload=True
    )
    uid: int | None = option(User(), None, "user to run the processes as", settable=True, needs_reload=True)
    gid: int | None = option(
        Group(),
        None,
        "group to run the processes as",
        settable=True,
        needs_reload=True,
        default_doc="the uid's primary group",
    )
    copy_env: bool = option(
        Bool(),
        False,
        "start from the daemon's environment, then apply [env] sections",
        settable=True,
        needs_reload=True,
    )
    copy_path: bool = option(
        Bool(), False, "pass the daemon's sys.path as PYTHONPATH (needs copy_env)", needs_reload=True
    )
    virtualenv: str | None = option(_TEXT, None, "virtualenv to run in (needs copy_env)", needs_reload=True)
    virtualenv_py_ver: str | None = option(
        _TEXT, None, "python version of the virtualenv (3.11)", needs_reload=True
    )
    env: Mapping[str, str] = option(
        Env(),
        FrozenMap(),
        "environment; in the ini use [env] and [env:NAME] sections",
        settable=True,
        needs_reload=True,
        default_doc="(empty)",
    )
    use_sockets: bool = option(
        Bool(), False, "let the processes inherit the [socket:NAME] sockets", needs_reload=True
    )
    stdin_socket: str | None = option(
        _TEXT, None, "name of a socket to pass as the processes' stdin", needs_reload=True
    )
    on_demand: bool = option(Bool(), False, "start processes only when a socket has a connection waiting")
    priority: int = option(Int(), 0, "start order: higher starts first and stops last")
    autostart: bool = option(Bool(), True, "start with the daemon")
    respawn: bool = option(Bool(), True, "restart processes that exit", settable=True)
    send_hup: bool = option(Bool(), False, "reload by sending SIGHUP instead of new processes", settable=True)
    stop_signal: int = option(
        Signal(), int(signal.SIGTERM), "signal that asks a process to stop", settable=True
    )
    stop_children: bool = option(
        Bool(), False, "send stop_signal to the processes' children too", settable=True
    )
    graceful_timeout: float = option(
        Seconds(0), 30.0, "seconds between stop_signal and SIGKILL", settable=True
    )
    max_retry: int = option(
        _RETRIES, 5, "failed spawn attempts before the watcher gives up (-1: forever)", settable=True
    )
    max_age: float = option(
        Seconds(0),
        0.0,
        "recycle a process after this many seconds (0: never)",
        settable=True,
        needs_reload=True,
    )
    max_age_variance: float = option(
        Seconds(0),
        30.0,
        "random extra seconds added to max_age per process",
        settable=True,
        needs_reload=True,
    )
    close_child_stdin: bool = option(
        Bool(), True, "give the processes /dev/null as stdin", settable=True, needs_reload=True
    )
    close_child_stdout: bool = option(
        Bool(), False, "send the processes' stdout to /dev/null", settable=True, needs_reload=True
    )
    close_child_stderr: bool = option(
        Bool(), False, "send the processes' stderr to /dev/null", settable=True, needs_reload=True
    )
    umask: int | None = option(
        Octal(optional=True),
        None,
        "umask of the processes, in octal (022)",
        needs_reload=True,
        default_doc="the daemon's umask",
    )
    rlimits: Mapping[str, int | None] = option(
        Rlimits(),
        FrozenMap(),
        "resource limits; in the ini use rlimit_<name>",
        settable=True,
        needs_reload=True,
        default_doc="(none)",
        in_ini=False,
    )
    hooks: Mapping[str, HookSpec] = option(
        Hooks(),
        FrozenMap(),
        "hooks; in the ini use hooks.<hook>",
        settable=True,
        default_doc="(none)",
        in_ini=False,
    )
    stdout_stream: StreamSpec | None = option(
        Stream(),
        None,
        "where stdout goes; in the ini use stdout_stream.<key>",
        settable=True,
        needs_reload=True,
        default_doc="(inherits circusd's)",
        in_ini=False,
    )
    stderr_stream: StreamSpec | None = option(
        Stream(),
        None,
        "where stderr goes; in the ini use stderr_stream.<key>",
        settable=True,
        needs_reload=True,
        default_doc="(inherits circusd's)",
        in_ini=False,
    )
    readiness: str = option(
        Choice("auto", "notify", "alive"),
        "auto",
        "when a new process counts as ready: notify waits for READY=1 on NOTIFY_SOCKET; alive takes "
        "warmup_delay seconds alive; auto waits for READY=1 once a process of the watcher has sent it",
        settable=True,
    )
    max_surge: int = option(Int(1), 1, "new processes started at once during a rolling reload", settable=True)
    ready_timeout: float = option(
        Seconds(positive=True),
        30.0,
        "how long a new process may take to report ready: past it, a reload is rolled back, and a "
        "process started outside a reload is stopped and replaced",
        settable=True,
    )
    startup_nice: int = option(
        Int(0, 19),
        10,
        "added to a new process's nice value until it is ready (for at most 1 s), so that its start "
        "(imports, app loading) runs on CPU the serving processes leave idle; 0 disables. Needs "
        "circusd to have CAP_SYS_NICE (root) to give the priority back, and is not applied without it",
        settable=True,
    )
    scale_down: str = option(
        Choice("oldest", "newest"), "oldest", "which processes decr removes first", settable=True
    )
    min_ready: int | None = option(  # health probes (issue 16)
        Int(0),
        None,
        "ready processes this watcher needs for circusd's /readyz probe to pass (0: not counted)",
        settable=True,
        default_doc="1 with use_sockets, else 0",
    )
    flapping: FlappingSpec = group(
        FlappingSpec, "this watcher's flapping settings; defaults from [plugin:flapping]"
    )
    extra: Mapping[str, str] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        freeze_fields(self, "env", "rlimits", "hooks", "extra")
        object.__setattr__(self, "args", tuple(self.args))

    def option_values(self) -> dict[str, Any]:
        """Every option by its Circus name, JSON-serialisable, as `options` and `get` answer: the declared
        options (`flapping.<name>` among them), then the free-form keys."""
        values = json_option_values(self)
        values.update({key: value for key, value in self.extra.items() if key not in values})
        return values

    def referenced_sockets(self) -> frozenset[str]:
        """Sockets the processes depend on: `circus.sockets.X` in cmd or args, and stdin_socket."""
        names = referenced_sockets(self.cmd)
        for arg in self.args:
            names |= referenced_sockets(arg)
        if self.stdin_socket:
            names.add(self.stdin_socket.lower())
        return frozenset(names)

    def sockets_used(self, bound: Iterable[str]) -> frozenset[str]:
        """The sockets its processes serve, of the `bound` ones: those it references; with none
        referenced, all of them if it inherits them (use_sockets) or starts on their connections
        (on_demand)."""
        referenced = self.referenced_sockets()
        if referenced or not (self.use_sockets or self.on_demand):
            return referenced
        return frozenset(bound)

    def differing_options(self, other: WatcherConfig) -> tuple[str, ...]:
        """Names of the attributes whose values differ (e.g. ('numprocesses', 'env'))."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name))
