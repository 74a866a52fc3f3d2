"""The ONE table of every configuration option: [circus], [watcher:NAME], [socket:NAME], [plugin:NAME].

Parsing, validation, defaults, the `options`/`get`/`set` commands and docs/options.md all come from here.
To add an option: add one `Option(...)` line to the right table below and a field of the same name to
the matching dataclass in model.py (a unit test checks that they agree), then regenerate docs/options.md
with `python -m circus_web_stack.config.docs > docs/options.md`.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from circus_web_stack.config.endpoints import Endpoint, MulticastEndpoint
from circus_web_stack.config.families import (
    FLAPPING_OPTIONS,
    RLIMIT_NAMES,
    STREAM_CLASSES,
    Env,
    Hooks,
    Rlimits,
    Stream,
)
from circus_web_stack.config.kinds import (
    Args,
    Bool,
    Choice,
    Group,
    Int,
    Interface,
    Kind,
    Octal,
    Proto,
    Seconds,
    Signal,
    Text,
    User,
    UserName,
    Words,
)
from circus_web_stack.config.specs import HOOK_NAMES, FrozenMap


class Section(StrEnum):
    DAEMON = "circus"
    WATCHER = "watcher"
    SOCKET = "socket"
    PLUGIN = "plugin"


@dataclass(frozen=True)
class Option:
    """One option. For watcher options, `settable` says whether Circus's `add`/`set` commands may set it,
    and `needs_reload` whether a change at runtime needs new processes (a rolling reload) rather than
    only process management."""

    name: str
    section: Section
    kind: Kind
    default: Any
    doc: str
    settable: bool = False
    needs_reload: bool = False
    default_doc: str | None = None  # the docs' default column when the value needs words
    obsolete: str | None = None  # accepted so old configs load; why it has no effect (warned at load)
    stored: bool = True  # False: read by the loader itself (include) or obsolete; not a model attribute
    in_ini: bool = True  # False: only the API/`set` whole-value form; the ini uses the key family

    def default_text(self) -> str:
        if self.default_doc is not None:
            return self.default_doc
        text = self.kind.to_text(self.default)
        return text if text != "" else "(not set)"


@dataclass(frozen=True)
class OptionFamily:
    """Prefixed watcher keys that fill one composite attribute: `rlimit_<name>` fills `rlimits`."""

    prefix: str
    placeholder: str
    attribute: str
    label: str
    doc: str
    subkeys: tuple[str, ...]  # the valid `<name>` parts, for suggestions
    settable: bool = False
    needs_reload: bool = False


_W = Section.WATCHER
_D = Section.DAEMON
_S = Section.SOCKET

_PRIVATE_SOCKET = "a unix socket in the daemon's private runtime directory"

DAEMON_OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option(
            "endpoint",
            _D,
            Endpoint(),
            None,
            "control socket (ROUTER) for circusctl",
            default_doc=_PRIVATE_SOCKET,
        ),
        Option(
            "endpoint_owner",
            _D,
            UserName(),
            None,
            "user to chown an ipc:// control socket to; `add` then forces that uid",
        ),
        Option("pubsub_endpoint", _D, Endpoint(), None, "event socket (PUB)", default_doc=_PRIVATE_SOCKET),
        Option(
            "multicast_endpoint",
            _D,
            MulticastEndpoint(),
            "",
            "UDP multicast discovery responder",
            default_doc="(off)",
        ),
        Option("statsd", _D, Bool(), False, "run circusd-stats"),
        Option(
            "stats_endpoint",
            _D,
            Endpoint(),
            None,
            "statistics socket (PUB); setting it implies statsd = true",
            default_doc=_PRIVATE_SOCKET,
        ),
        Option(
            "stats_interval",
            _D,
            Seconds(positive=True),
            1.0,
            "seconds between two samples of circusd-stats; CPU % is measured over this interval",
        ),
        Option(
            "check_delay",
            _D,
            Seconds(positive=True),
            5.0,
            "seconds between supervision ticks (max_age, on_demand)",
        ),
        Option("warmup_delay", _D, Seconds(0), 0.0, "seconds to wait between starting two watchers"),
        Option("umask", _D, Octal(optional=True), None, "umask of the daemon, in octal (022)"),
        # The web console (circushttpd, started as the helper watcher `circushttpd`).
        Option("httpd", _D, Bool(), False, "run the web console circushttpd as the watcher circushttpd"),
        Option(
            "httpd_host",
            _D,
            Text(),
            "localhost",
            "host the web console listens on; other than loopback it needs httpd_password_hash",
        ),
        Option("httpd_port", _D, Int(0, 65535), 8080, "port the web console listens on"),
        Option(
            "httpd_password_hash",
            _D,
            Text(optional=True),
            None,
            "salted hash of the console's admin password (`circushttpd --hash-password` prints one)",
        ),
        Option(
            "httpd_readonly_password_hash",
            _D,
            Text(optional=True),
            None,
            "salted hash of the console's read-only password: sees everything, may act on nothing",
        ),
        Option("debug", _D, Bool(), False, "send the children's output to the daemon's stdout"),
        Option("debug_gc", _D, Bool(), False, "gc.set_debug(DEBUG_LEAK) in the daemon"),
        Option("pidfile", _D, Text(optional=True), None, "file to write the daemon's pid to"),
        Option(
            "loglevel",
            _D,
            Choice("critical", "error", "warning", "info", "debug"),
            "info",
            "daemon log level",
        ),
        Option("logoutput", _D, Text(), "-", "daemon log: -, a file path, or syslog://host:port?facility"),
        Option(
            "loggerconfig",
            _D,
            Text(optional=True),
            None,
            "logging dictConfig file (.ini, .json, .yaml) or 'default'",
        ),
        Option(
            "fqdn_prefix", _D, Text(optional=True), None, "prefix of this instance's id in stats and events"
        ),
        Option(
            "include",
            _D,
            Words(),
            (),
            "more config files (globs, relative to this file), read after it",
            stored=False,
        ),
        Option("include_dir", _D, Words(), (), "directories whose *.ini files are included", stored=False),
        Option(
            "insecure",
            _D,
            Bool(),
            False,
            "allow control/event endpoints reachable from the network without CurveZMQ keys",
        ),
        Option(
            "curve_secret_key_file", _D, Text(optional=True), None, "CurveZMQ secret key file of the daemon"
        ),
        Option(
            "curve_public_key_file", _D, Text(optional=True), None, "CurveZMQ public key file of the daemon"
        ),
        Option(
            "curve_client_keys_dir",
            _D,
            Text(optional=True),
            None,
            "directory of the public keys of allowed clients",
        ),
        Option(
            "stream_backend",
            _D,
            Text(optional=True),
            None,
            "Circus < 0.10 stream backend",
            stored=False,
            obsolete="the stream backend is always gevent",
        ),
        Option(
            "statsd_close_outputs",
            _D,
            Bool(),
            False,
            "Circus Arbiter argument",
            stored=False,
            obsolete="circusd-stats output handling is not configurable",
        ),
        Option(
            "httpd_close_outputs",
            _D,
            Bool(),
            False,
            "Circus Arbiter argument",
            stored=False,
            obsolete="the dashboard's output handling is not configurable",
        ),
        Option(
            "ssh_server",
            _D,
            Text(optional=True),
            None,
            "Circus Arbiter argument",
            stored=False,
            obsolete="use circusctl --ssh on the client side",
        ),
    )
}

WATCHER_OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option(
            "cmd",
            _W,
            Text(),
            "",
            "the program to run, with its arguments",
            True,
            True,
            default_doc="(required)",
        ),
        Option("args", _W, Args(), (), "more arguments, appended to cmd", True, True),
        Option(
            "executable",
            _W,
            Text(optional=True),
            None,
            "program to execute; cmd then only sets argv[0]",
            False,
            True,
        ),
        Option("numprocesses", _W, Int(0), 1, "how many processes to run", True, False),
        Option(
            "singleton",
            _W,
            Bool(),
            False,
            "at most one process, ever (numprocesses must be 0 or 1)",
            True,
            False,
        ),
        Option("warmup_delay", _W, Seconds(0), 0.0, "seconds to wait between two spawns", True, False),
        Option(
            "working_dir",
            _W,
            Text(optional=True),
            None,
            "working directory of the processes",
            True,
            True,
            default_doc="the daemon's working directory",
        ),
        Option("shell", _W, Bool(), False, "run cmd through /bin/sh", True, True),
        Option(
            "shell_args",
            _W,
            Text(optional=True),
            None,
            "extra arguments for the shell when shell is set",
            False,
            True,
        ),
        Option("uid", _W, User(), None, "user to run the processes as", True, True),
        Option(
            "gid",
            _W,
            Group(),
            None,
            "group to run the processes as",
            True,
            True,
            default_doc="the uid's primary group",
        ),
        Option(
            "copy_env",
            _W,
            Bool(),
            False,
            "start from the daemon's environment, then apply [env] sections",
            True,
            True,
        ),
        Option(
            "copy_path",
            _W,
            Bool(),
            False,
            "pass the daemon's sys.path as PYTHONPATH (needs copy_env)",
            False,
            True,
        ),
        Option(
            "virtualenv", _W, Text(optional=True), None, "virtualenv to run in (needs copy_env)", False, True
        ),
        Option(
            "virtualenv_py_ver",
            _W,
            Text(optional=True),
            None,
            "python version of the virtualenv (3.11)",
            False,
            True,
        ),
        Option(
            "env",
            _W,
            Env(),
            FrozenMap(),
            "environment; in the ini use [env] and [env:NAME] sections",
            True,
            True,
            default_doc="(empty)",
        ),
        Option(
            "use_sockets",
            _W,
            Bool(),
            False,
            "let the processes inherit the [socket:NAME] sockets",
            False,
            True,
        ),
        Option(
            "stdin_socket",
            _W,
            Text(optional=True),
            None,
            "name of a socket to pass as the processes' stdin",
            False,
            True,
        ),
        Option(
            "on_demand",
            _W,
            Bool(),
            False,
            "start processes only when a socket has a connection waiting",
            False,
            False,
        ),
        Option("priority", _W, Int(), 0, "start order: higher starts first and stops last", False, False),
        Option("autostart", _W, Bool(), True, "start with the daemon", False, False),
        Option("respawn", _W, Bool(), True, "restart processes that exit", True, False),
        Option(
            "send_hup", _W, Bool(), False, "reload by sending SIGHUP instead of new processes", True, False
        ),
        Option(
            "stop_signal",
            _W,
            Signal(),
            int(signal.SIGTERM),
            "signal that asks a process to stop",
            True,
            False,
        ),
        Option(
            "stop_children", _W, Bool(), False, "send stop_signal to the processes' children too", True, False
        ),
        Option(
            "graceful_timeout", _W, Seconds(0), 30.0, "seconds between stop_signal and SIGKILL", True, False
        ),
        Option(
            "max_retry",
            _W,
            Int(-1, label="an integer >= -1 (-1: forever)"),
            5,
            "failed spawn attempts before the watcher gives up (-1: forever)",
            True,
            False,
        ),
        Option(
            "max_age", _W, Seconds(0), 0.0, "recycle a process after this many seconds (0: never)", True, True
        ),
        Option(
            "max_age_variance",
            _W,
            Seconds(0),
            30.0,
            "random extra seconds added to max_age per process",
            True,
            True,
        ),
        Option("close_child_stdin", _W, Bool(), True, "give the processes /dev/null as stdin", True, True),
        Option(
            "close_child_stdout", _W, Bool(), False, "send the processes' stdout to /dev/null", True, True
        ),
        Option(
            "close_child_stderr", _W, Bool(), False, "send the processes' stderr to /dev/null", True, True
        ),
        Option(
            "umask",
            _W,
            Octal(optional=True),
            None,
            "umask of the processes, in octal (022)",
            False,
            True,
            default_doc="the daemon's umask",
        ),
        Option(
            "rlimits",
            _W,
            Rlimits(),
            FrozenMap(),
            "resource limits; in the ini use rlimit_<name>",
            True,
            True,
            default_doc="(none)",
            in_ini=False,
        ),
        Option(
            "hooks",
            _W,
            Hooks(),
            FrozenMap(),
            "hooks; in the ini use hooks.<hook>",
            True,
            False,
            default_doc="(none)",
            in_ini=False,
        ),
        Option(
            "stdout_stream",
            _W,
            Stream(),
            None,
            "where stdout goes; in the ini use stdout_stream.<key>",
            True,
            True,
            default_doc="(inherits circusd's)",
            in_ini=False,
        ),
        Option(
            "stderr_stream",
            _W,
            Stream(),
            None,
            "where stderr goes; in the ini use stderr_stream.<key>",
            True,
            True,
            default_doc="(inherits circusd's)",
            in_ini=False,
        ),
        Option(
            "readiness",
            _W,
            Choice("auto", "notify", "alive"),
            "auto",
            "when a new process counts as ready: notify waits for READY=1 on NOTIFY_SOCKET; alive takes "
            "warmup_delay seconds alive; auto waits for READY=1 once a process of the watcher has sent it",
            True,
            False,
        ),
        Option(
            "max_surge", _W, Int(1), 1, "new processes started at once during a rolling reload", True, False
        ),
        Option(
            "ready_timeout",
            _W,
            Seconds(positive=True),
            30.0,
            "how long a new process may take to report ready: past it, a reload is rolled back, and a "
            "process started outside a reload is stopped and replaced",
            True,
            False,
        ),
        Option(
            "startup_nice",
            _W,
            Int(0, 19),
            10,
            "added to a new process's nice value until it is ready (for at most 1 s), so that its start "
            "(imports, app loading) runs on CPU the serving processes leave idle; 0 disables. Needs "
            "circusd to have CAP_SYS_NICE (root) to give the priority back, and is not applied without it",
            True,
            False,
        ),
        Option(
            "scale_down",
            _W,
            Choice("oldest", "newest"),
            "oldest",
            "which processes decr removes first",
            True,
            False,
        ),
        Option(
            "check_flapping",
            _W,
            Bool(),
            True,
            "Circus leftover",
            stored=False,
            obsolete="flapping is configured with flapping.* keys or [plugin:flapping]",
        ),
        Option(
            "stream_backend",
            _W,
            Text(optional=True),
            None,
            "Circus < 0.10 stream backend",
            stored=False,
            obsolete="the stream backend is always gevent",
        ),
    )
}

_STREAM_KEYS = tuple(sorted({"class", *(key for kwargs in STREAM_CLASSES.values() for key in kwargs)}))

WATCHER_FAMILIES: tuple[OptionFamily, ...] = (
    OptionFamily(
        "rlimit_",
        "rlimit_<name>",
        "rlimits",
        "an integer >= 0, or unlimited",
        "resource limit RLIMIT_<NAME> (nofile, nproc, core, ...); empty or unlimited: no limit",
        RLIMIT_NAMES,
        settable=True,
        needs_reload=True,
    ),
    OptionFamily(
        "hooks.",
        "hooks.<hook>",
        "hooks",
        "dotted.callable[, ignore_failure]",
        f"a hook: {', '.join(HOOK_NAMES)}",
        HOOK_NAMES,
        settable=True,
    ),
    OptionFamily(
        "stdout_stream.",
        "stdout_stream.<key>",
        "stdout_stream",
        "class, filename, ...",
        f"stdout stream: class ({', '.join(STREAM_CLASSES)} or a dotted callable) and its options",
        _STREAM_KEYS,
        settable=True,
        needs_reload=True,
    ),
    OptionFamily(
        "stderr_stream.",
        "stderr_stream.<key>",
        "stderr_stream",
        "class, filename, ...",
        "stderr stream, as stdout_stream",
        _STREAM_KEYS,
        settable=True,
        needs_reload=True,
    ),
    OptionFamily(
        "flapping.",
        "flapping.<key>",
        "flapping",
        "attempts, window, retry_in, max_retry",
        "this watcher's flapping settings; defaults from [plugin:flapping]",
        tuple(FLAPPING_OPTIONS),
    ),
)

SOCKET_OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option("host", _S, Text(), "localhost", "host or address to bind"),
        Option("port", _S, Int(0, 65535), 8080, "port to bind (0: any free port)"),
        Option(
            "family", _S, Choice("AF_INET", "AF_INET6", "AF_UNIX", prefix="AF_"), "AF_INET", "address family"
        ),
        Option(
            "type",
            _S,
            Choice("SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET", prefix="SOCK_"),
            "SOCK_STREAM",
            "socket type",
        ),
        Option("proto", _S, Proto(), None, "protocol name or number", default_doc="the family's default"),
        Option("backlog", _S, Int(1), 2048, "listen queue length"),
        Option("path", _S, Text(optional=True), None, "unix socket path (sets family to AF_UNIX)"),
        Option(
            "umask",
            _S,
            Octal(),
            0o010,
            "umask while creating a unix socket file, in octal",
            default_doc="010 (what Circus's default 8 meant)",
        ),
        Option("replace", _S, Bool(), False, "remove a stale unix socket file at path before binding"),
        Option("interface", _S, Interface(), None, "network interface to bind to (SO_BINDTODEVICE)"),
        Option("so_reuseport", _S, Bool(), False, "each process gets its own SO_REUSEPORT socket"),
        Option("blocking", _S, Bool(), False, "leave the inherited socket in blocking mode"),
    )
}

PLUGIN_OPTIONS: dict[str, Option] = {
    "use": Option(
        "use",
        Section.PLUGIN,
        Text(label="a dotted path to the plugin class"),
        "",
        "the plugin class; every other key is passed to the plugin, watcher options also apply to "
        "the plugin's process",
        default_doc="(required)",
    ),
}

TABLES: Mapping[Section, Mapping[str, Option]] = {
    Section.DAEMON: DAEMON_OPTIONS,
    Section.WATCHER: WATCHER_OPTIONS,
    Section.SOCKET: SOCKET_OPTIONS,
    Section.PLUGIN: PLUGIN_OPTIONS,
}


def family_of(key: str) -> OptionFamily | None:
    """The family a prefixed watcher key belongs to (`hooks.before_start` -> hooks.), or None."""
    for family in WATCHER_FAMILIES:
        if key.startswith(family.prefix) and len(key) > len(family.prefix):
            return family
    return None


def known_keys(section: Section) -> list[str]:
    """Every key a section accepts, family keys spelled out: the candidates for 'did you mean'."""
    keys = [name for name, opt in TABLES[section].items() if opt.in_ini]
    if section is Section.WATCHER:
        keys += [family.prefix + sub for family in WATCHER_FAMILIES for sub in family.subkeys]
    return keys


def _watcher_rule(key: str) -> Option | OptionFamily | None:
    lowered = key.lower()
    return WATCHER_OPTIONS.get(lowered) or family_of(lowered)


def is_settable(key: str) -> bool:
    """May Circus's `add`/`set` commands set this watcher key (an option or a prefixed family key)?"""
    rule = _watcher_rule(key)
    return rule is not None and rule.settable and not (isinstance(rule, Option) and rule.obsolete)


def needs_reload(key: str) -> bool:
    """Does changing this watcher key at runtime need new processes (a rolling reload)?"""
    rule = _watcher_rule(key)
    return rule is not None and rule.needs_reload
