"""The frozen configuration model and `diff(old, new)`, which tells a reload what changed.

Every attribute is named as Circus names the option and holds the parsed Python value; defaults come from
the option table (options.py), never from here. Build these through config.loader (`load_config`,
`parse_watcher`, ...), which validates; constructing them directly skips validation. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from circus_web_stack.config.options import (
    DAEMON_OPTIONS,
    SOCKET_OPTIONS,
    WATCHER_OPTIONS,
    Option,
)
from circus_web_stack.config.specs import (
    DEFAULT_IGNORED_HOOKS,
    HOOK_NAMES,
    FlappingSpec,
    FrozenMap,
    HookSpec,
    StreamSpec,
    freeze,
)
from circus_web_stack.config.substitution import referenced_sockets

__all__ = [
    "DEFAULT_IGNORED_HOOKS",
    "HOOK_NAMES",
    "Config",
    "ConfigDiff",
    "DaemonConfig",
    "FlappingSpec",
    "FrozenMap",
    "HookSpec",
    "PluginConfig",
    "SocketConfig",
    "StreamSpec",
    "WatcherConfig",
    "diff",
]


def _d(table: Mapping[str, Option], name: str) -> Any:
    """The dataclass field whose default is the option table's (immutable: None, scalars, tuples,
    FrozenMap)."""
    return field(default=table[name].default)


def _option_values(obj: Any, table: Mapping[str, Option]) -> dict[str, Any]:
    return {name: opt.kind.to_json(getattr(obj, name)) for name, opt in table.items() if opt.stored}


def _freeze_mappings(obj: Any, *names: str) -> None:
    for name in names:
        object.__setattr__(obj, name, freeze(getattr(obj, name)))


@dataclass(frozen=True)
class DaemonConfig:
    """[circus]. Endpoints left None mean "a unix socket in the daemon's private runtime directory",
    which the runtime chooses; `multicast_endpoint` "" means discovery is off."""

    endpoint: str | None = _d(DAEMON_OPTIONS, "endpoint")
    endpoint_owner: str | None = _d(DAEMON_OPTIONS, "endpoint_owner")
    pubsub_endpoint: str | None = _d(DAEMON_OPTIONS, "pubsub_endpoint")
    multicast_endpoint: str = _d(DAEMON_OPTIONS, "multicast_endpoint")
    statsd: bool = _d(DAEMON_OPTIONS, "statsd")
    stats_endpoint: str | None = _d(DAEMON_OPTIONS, "stats_endpoint")
    stats_interval: float = _d(DAEMON_OPTIONS, "stats_interval")
    check_delay: float = _d(DAEMON_OPTIONS, "check_delay")
    warmup_delay: float = _d(DAEMON_OPTIONS, "warmup_delay")
    umask: int | None = _d(DAEMON_OPTIONS, "umask")
    httpd: bool = _d(DAEMON_OPTIONS, "httpd")
    httpd_host: str = _d(DAEMON_OPTIONS, "httpd_host")
    httpd_port: int = _d(DAEMON_OPTIONS, "httpd_port")
    httpd_password_hash: str | None = _d(DAEMON_OPTIONS, "httpd_password_hash")
    httpd_readonly_password_hash: str | None = _d(DAEMON_OPTIONS, "httpd_readonly_password_hash")
    debug: bool = _d(DAEMON_OPTIONS, "debug")
    debug_gc: bool = _d(DAEMON_OPTIONS, "debug_gc")
    pidfile: str | None = _d(DAEMON_OPTIONS, "pidfile")
    loglevel: str = _d(DAEMON_OPTIONS, "loglevel")
    logoutput: str = _d(DAEMON_OPTIONS, "logoutput")
    loggerconfig: str | None = _d(DAEMON_OPTIONS, "loggerconfig")
    fqdn_prefix: str | None = _d(DAEMON_OPTIONS, "fqdn_prefix")
    insecure: bool = _d(DAEMON_OPTIONS, "insecure")
    curve_secret_key_file: str | None = _d(DAEMON_OPTIONS, "curve_secret_key_file")
    curve_public_key_file: str | None = _d(DAEMON_OPTIONS, "curve_public_key_file")
    curve_client_keys_dir: str | None = _d(DAEMON_OPTIONS, "curve_client_keys_dir")

    def option_values(self) -> dict[str, Any]:
        """Every [circus] option by name, JSON-serialisable (endpoints None = not resolved yet)."""
        return _option_values(self, DAEMON_OPTIONS)


@dataclass(frozen=True)
class SocketConfig:
    """[socket:NAME]. `family` and `type` are the socket module's constant names ('AF_INET',
    'SOCK_STREAM'); `proto` is a number, a protocol name for getprotobyname, or None. A `path` makes
    family 'AF_UNIX'. `umask` is an int (0o022)."""

    name: str
    host: str = _d(SOCKET_OPTIONS, "host")
    port: int = _d(SOCKET_OPTIONS, "port")
    family: str = _d(SOCKET_OPTIONS, "family")
    type: str = _d(SOCKET_OPTIONS, "type")
    proto: int | str | None = _d(SOCKET_OPTIONS, "proto")
    backlog: int = _d(SOCKET_OPTIONS, "backlog")
    path: str | None = _d(SOCKET_OPTIONS, "path")
    umask: int = _d(SOCKET_OPTIONS, "umask")
    replace: bool = _d(SOCKET_OPTIONS, "replace")
    interface: str | None = _d(SOCKET_OPTIONS, "interface")
    so_reuseport: bool = _d(SOCKET_OPTIONS, "so_reuseport")
    blocking: bool = _d(SOCKET_OPTIONS, "blocking")

    def option_values(self) -> dict[str, Any]:
        return {"name": self.name, **_option_values(self, SOCKET_OPTIONS)}


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
    cmd: str = _d(WATCHER_OPTIONS, "cmd")
    args: tuple[str, ...] = _d(WATCHER_OPTIONS, "args")
    executable: str | None = _d(WATCHER_OPTIONS, "executable")
    numprocesses: int = _d(WATCHER_OPTIONS, "numprocesses")
    singleton: bool = _d(WATCHER_OPTIONS, "singleton")
    warmup_delay: float = _d(WATCHER_OPTIONS, "warmup_delay")
    working_dir: str | None = _d(WATCHER_OPTIONS, "working_dir")
    shell: bool = _d(WATCHER_OPTIONS, "shell")
    shell_args: str | None = _d(WATCHER_OPTIONS, "shell_args")
    uid: int | None = _d(WATCHER_OPTIONS, "uid")
    gid: int | None = _d(WATCHER_OPTIONS, "gid")
    copy_env: bool = _d(WATCHER_OPTIONS, "copy_env")
    copy_path: bool = _d(WATCHER_OPTIONS, "copy_path")
    virtualenv: str | None = _d(WATCHER_OPTIONS, "virtualenv")
    virtualenv_py_ver: str | None = _d(WATCHER_OPTIONS, "virtualenv_py_ver")
    env: Mapping[str, str] = _d(WATCHER_OPTIONS, "env")
    use_sockets: bool = _d(WATCHER_OPTIONS, "use_sockets")
    stdin_socket: str | None = _d(WATCHER_OPTIONS, "stdin_socket")
    on_demand: bool = _d(WATCHER_OPTIONS, "on_demand")
    priority: int = _d(WATCHER_OPTIONS, "priority")
    autostart: bool = _d(WATCHER_OPTIONS, "autostart")
    respawn: bool = _d(WATCHER_OPTIONS, "respawn")
    send_hup: bool = _d(WATCHER_OPTIONS, "send_hup")
    stop_signal: int = _d(WATCHER_OPTIONS, "stop_signal")
    stop_children: bool = _d(WATCHER_OPTIONS, "stop_children")
    graceful_timeout: float = _d(WATCHER_OPTIONS, "graceful_timeout")
    max_retry: int = _d(WATCHER_OPTIONS, "max_retry")
    max_age: float = _d(WATCHER_OPTIONS, "max_age")
    max_age_variance: float = _d(WATCHER_OPTIONS, "max_age_variance")
    close_child_stdin: bool = _d(WATCHER_OPTIONS, "close_child_stdin")
    close_child_stdout: bool = _d(WATCHER_OPTIONS, "close_child_stdout")
    close_child_stderr: bool = _d(WATCHER_OPTIONS, "close_child_stderr")
    umask: int | None = _d(WATCHER_OPTIONS, "umask")
    rlimits: Mapping[str, int | None] = _d(WATCHER_OPTIONS, "rlimits")
    hooks: Mapping[str, HookSpec] = _d(WATCHER_OPTIONS, "hooks")
    stdout_stream: StreamSpec | None = _d(WATCHER_OPTIONS, "stdout_stream")  # noqa: RUF009 (None)
    stderr_stream: StreamSpec | None = _d(WATCHER_OPTIONS, "stderr_stream")  # noqa: RUF009 (None)
    readiness: str = _d(WATCHER_OPTIONS, "readiness")
    max_surge: int = _d(WATCHER_OPTIONS, "max_surge")
    ready_timeout: float = _d(WATCHER_OPTIONS, "ready_timeout")
    startup_nice: int = _d(WATCHER_OPTIONS, "startup_nice")
    scale_down: str = _d(WATCHER_OPTIONS, "scale_down")
    flapping: FlappingSpec = field(default_factory=FlappingSpec)
    extra: Mapping[str, str] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        _freeze_mappings(self, "env", "rlimits", "hooks", "extra")
        object.__setattr__(self, "args", tuple(self.args))

    def option_values(self) -> dict[str, Any]:
        """Every option by its Circus name, JSON-serialisable, as `options` and `get` answer: the table's
        options, `flapping.<key>` for the flapping settings, then the free-form keys."""
        values = _option_values(self, WATCHER_OPTIONS)
        values.update({f"flapping.{key}": value for key, value in vars(self.flapping).items()})
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

    def differing_options(self, other: WatcherConfig) -> tuple[str, ...]:
        """Names of the attributes whose values differ (e.g. ('numprocesses', 'env'))."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name))


@dataclass(frozen=True)
class PluginConfig:
    """[plugin:NAME]: `name` is the plugin's watcher name, `plugin:NAME`. `options` holds every key but
    `use` (passed to the plugin), `watcher_options` the keys that are also watcher options (validated)."""

    name: str
    use: str
    options: Mapping[str, str] = field(default_factory=FrozenMap)
    watcher_options: Mapping[str, str] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        _freeze_mappings(self, "options", "watcher_options")


@dataclass(frozen=True)
class Config:
    """A whole configuration. Watchers, sockets and plugins are sorted by name; `warnings` are the
    loader's messages (file:line [section] option: text) for the caller to log."""

    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    sockets: tuple[SocketConfig, ...] = ()
    watchers: tuple[WatcherConfig, ...] = ()
    plugins: tuple[PluginConfig, ...] = ()
    path: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def watcher(self, name: str) -> WatcherConfig | None:
        """The watcher named `name` (names are unique case-insensitively), or None."""
        wanted = name.lower()
        return next((w for w in self.watchers if w.name.lower() == wanted), None)

    def socket(self, name: str) -> SocketConfig | None:
        wanted = name.lower()
        return next((s for s in self.sockets if s.name == wanted), None)

    def plugin(self, name: str) -> PluginConfig | None:
        """By watcher name (`plugin:flapping`) or bare name (`flapping`)."""
        wanted = name.lower()
        return next(
            (p for p in self.plugins if wanted in (p.name.lower(), p.name.lower().removeprefix("plugin:"))),
            None,
        )


@dataclass(frozen=True)
class ConfigDiff:
    """What `reloadconfig` must do to go from the old configuration to the new one (names, sorted).

    Watchers in `scaled_only` differ only in numprocesses; those in `changed_watchers` differ in anything else
    or depend on a changed socket; `changed_options` says which attributes differ for each of them
    (a changed socket X appears as 'socket:X'), so the runtime can choose between updating in place
    and a rolling reload with options.needs_reload.
    """

    daemon_changed: bool = False
    daemon_keys: tuple[str, ...] = ()
    added_sockets: tuple[str, ...] = ()
    removed_sockets: tuple[str, ...] = ()
    changed_sockets: tuple[str, ...] = ()
    added_watchers: tuple[str, ...] = ()
    removed_watchers: tuple[str, ...] = ()
    scaled_only: tuple[str, ...] = ()
    changed_watchers: tuple[str, ...] = ()
    unchanged_watchers: tuple[str, ...] = ()
    changed_options: Mapping[str, tuple[str, ...]] = field(default_factory=FrozenMap)
    added_plugins: tuple[str, ...] = ()
    removed_plugins: tuple[str, ...] = ()
    changed_plugins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _freeze_mappings(self, "changed_options")

    @property
    def is_empty(self) -> bool:
        return not (
            self.daemon_changed
            or self.added_sockets
            or self.removed_sockets
            or self.changed_sockets
            or self.added_watchers
            or self.removed_watchers
            or self.scaled_only
            or self.changed_watchers
            or self.added_plugins
            or self.removed_plugins
            or self.changed_plugins
        )


def _split(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    added = tuple(sorted(new.keys() - old.keys()))
    removed = tuple(sorted(old.keys() - new.keys()))
    changed = tuple(sorted(name for name in old.keys() & new.keys() if old[name] != new[name]))
    return added, removed, changed


def diff(old: Config, new: Config) -> ConfigDiff:
    """Compare two configurations by name. Pure; the order of sections in the files does not matter."""
    daemon_keys = tuple(
        name
        for name in DaemonConfig.__dataclass_fields__
        if getattr(old.daemon, name) != getattr(new.daemon, name)
    )
    added_sockets, removed_sockets, changed_sockets = _split(
        {s.name: s for s in old.sockets}, {s.name: s for s in new.sockets}
    )
    old_watchers = {w.name: w for w in old.watchers}
    new_watchers = {w.name: w for w in new.watchers}
    scaled_only: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    changed_options: dict[str, tuple[str, ...]] = {}
    for name in sorted(old_watchers.keys() & new_watchers.keys()):
        before, after = old_watchers[name], new_watchers[name]
        differing = after.differing_options(before)
        moved_sockets = tuple(
            f"socket:{s}" for s in sorted(after.referenced_sockets() & set(changed_sockets))
        )
        if moved_sockets or (differing and differing != ("numprocesses",)):
            changed.append(name)
            changed_options[name] = differing + moved_sockets
        elif differing:
            scaled_only.append(name)
        else:
            unchanged.append(name)
    added_plugins, removed_plugins, changed_plugins = _split(
        {p.name: p for p in old.plugins}, {p.name: p for p in new.plugins}
    )
    return ConfigDiff(
        daemon_changed=bool(daemon_keys),
        daemon_keys=daemon_keys,
        added_sockets=added_sockets,
        removed_sockets=removed_sockets,
        changed_sockets=changed_sockets,
        added_watchers=tuple(sorted(new_watchers.keys() - old_watchers.keys())),
        removed_watchers=tuple(sorted(old_watchers.keys() - new_watchers.keys())),
        scaled_only=tuple(scaled_only),
        changed_watchers=tuple(changed),
        unchanged_watchers=tuple(unchanged),
        changed_options=changed_options,
        added_plugins=added_plugins,
        removed_plugins=removed_plugins,
        changed_plugins=changed_plugins,
    )
