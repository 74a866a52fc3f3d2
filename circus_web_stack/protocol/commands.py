"""The one table of control commands, the wire side: each command's properties, what it replies,
and its documentation; what a row is and how a request is checked against it are
protocol/command_spec.py's, the cross-property checks rows name protocol/command_checks.py's.

Rule: each command is declared once, here; the codec's validation, the daemon's handlers (tied by
a test), circusctl's grammar (cli/grammar.py) and docs/commands.md are derived from or checked
against these rows. Pure: no sockets, no processes.
"""

from __future__ import annotations

from collections.abc import Mapping

from circus_web_stack.core.errors import ClientError, Errno
from circus_web_stack.core.suggest import did_you_mean
from circus_web_stack.protocol import command_checks as checks
from circus_web_stack.protocol.command_spec import CommandSpec, check_request, command
from circus_web_stack.protocol.properties import Prop, PropType

# ---------------------------------------------------------------------------------------------------
# Shared pieces of the table.

_NAME = Prop("name", PropType.STR, "watcher name", required=True)
_NAME_OPTIONAL = Prop("name", PropType.STR, "watcher name; all watchers when absent")
_INFO_REPLY = "with waiting and one watcher: `info: {started: [pids], stopped: [pids], kept: [pids]}`"


_P = PropType
COMMAND_TABLE: tuple[CommandSpec, ...] = (
    command(
        "add",
        "Add a watcher",
        "Creates a watcher at run time. It is not written to the config file, so a reloadconfig or a "
        "restart of the daemon forgets it, unless [circus] overlay keeps it. Without --start it stays "
        "stopped.",
        props=(
            _NAME,
            Prop("cmd", _P.STR, "command line to run", required=True),
            Prop("args", _P.ARGS, "arguments appended to cmd"),
            Prop("options", _P.OPTIONS, "watcher options (see the list below)"),
            Prop("start", _P.BOOL, "start the watcher once added", default=False),
        ),
        waiting=True,
        additions="`options` takes any [watcher:NAME] option of docs/options.md, including use_sockets, "
        "priority and autostart (Circus refuses them, so its added watchers cannot use the daemon's "
        "sockets); `waiting` with `start` replies once the watcher is started; circusctl's "
        "`--option KEY=VALUE`.",
    ),
    command(
        "rm",
        "Remove a watcher",
        "Stops the watcher's processes gracefully (unless nostop) and forgets the watcher.",
        props=(_NAME, Prop("nostop", _P.BOOL, "leave its processes running", default=False)),
        waiting=True,
    ),
    command(
        "start",
        "Start the arbiter or a watcher",
        "Without a name, starts every autostart watcher in priority order.",
        props=(_NAME_OPTIONAL,),
        waiting=True,
        match=True,
        reply=_INFO_REPLY,
    ),
    command(
        "stop",
        "Stop watchers",
        "Sends each process its stop signal, then SIGKILL after graceful_timeout. Without a name, "
        "stops every watcher; the daemon keeps running.",
        props=(_NAME_OPTIONAL,),
        waiting=True,
        match=True,
        reply=_INFO_REPLY,
    ),
    command(
        "restart",
        "Restart the arbiter or a watcher",
        "Stops then starts: there is a gap while no process serves. Prefer reload for zero-downtime.",
        props=(_NAME_OPTIONAL,),
        waiting=True,
        match=True,
        reply=_INFO_REPLY,
    ),
    command(
        "reload",
        "Reload the arbiter or a watcher",
        "Graceful by default: new processes are started and old ones are stopped once their "
        "replacements are ready. --terminate stops then starts instead; --sequential replaces one "
        "process at a time.",
        props=(
            _NAME_OPTIONAL,
            Prop("graceful", _P.BOOL, "replace processes without a gap", default=True),
            Prop("sequential", _P.BOOL, "replace one process at a time", default=False),
        ),
        waiting=True,
        match=True,
        reply=_INFO_REPLY,
        additions="`match` (Circus reloads by exact name only).",
    ),
    command(
        "reloadconfig",
        "Reload the configuration file",
        "Re-reads the config file and applies the difference: new watchers and sockets are added, "
        "removed ones stopped and closed, changed ones updated.",
        waiting=True,
    ),
    command(
        "saveoverlay",
        "Keep the run-time changes across restarts",
        "Writes the watchers added or removed and the numprocesses changed since the config file was "
        "read to the overlay file beside it (<config>.overlay), which the daemon lays over the config at "
        "start and at reloadconfig. Needs [circus] overlay = manual or auto (auto also writes it after "
        "every change).",
        reply="`overlay: {path, numprocesses, added, removed}`",
        in_circus=False,
    ),
    command(
        "incr",
        "Increment the number of processes in a watcher",
        "Raises the watcher's target number of processes by nb (default 1).",
        props=(_NAME, Prop("nb", _P.INT, "how many processes to add", default=1)),
        waiting=True,
        reply="without waiting, nothing but `ok` (as Circus); with waiting, once the new processes are "
        "ready: `numprocesses`, the new target (and `singleton: true` for a singleton)",
        check=checks.check_nb,
    ),
    command(
        "decr",
        "Decrement the number of processes in a watcher",
        "Lowers the watcher's target number of processes by nb (default 1); the oldest processes stop.",
        props=(_NAME, Prop("nb", _P.INT, "how many processes to remove", default=1)),
        waiting=True,
        reply="without waiting, nothing but `ok` (as Circus); with waiting, once the processes removed "
        "are gone: `numprocesses`, the new target",
        check=checks.check_nb,
    ),
    command(
        "numprocesses",
        "Get the number of processes",
        "With a name, the number of live processes of that watcher; without, the sum over all watchers.",
        props=(_NAME_OPTIONAL,),
        reply="`numprocesses` (and `watcher_name` with a name)",
    ),
    command(
        "numwatchers",
        "Get the number of watchers",
        "Counts every watcher, including plugins and circusd-stats.",
        reply="`numwatchers`",
    ),
    command(
        "list",
        "Get list of watchers or processes in a watcher",
        "Without a name, the sorted watcher names; with a name, the pids of that watcher.",
        props=(_NAME_OPTIONAL,),
        reply="`watchers: [names]` or, with a name, `pids: [pids]`",
    ),
    command(
        "processes",
        "Get the processes of a watcher",
        "Each process of the watcher as the daemon tracks it (no sampling, so it is cheap with "
        "thousands): pid, wid, state, whether it reported ready, when it started, its generation. "
        "The web console's process table reads it.",
        props=(_NAME,),
        reply="`processes: [{pid, wid, state, ready, started, generation}]`, by wid",
        in_circus=False,
    ),
    command(
        "listsockets",
        "Get the list of sockets",
        "The daemon's listening sockets, sorted by fd.",
        reply="`sockets: [{fd, name, backlog, host, port} or {fd, name, backlog, path}]`",
    ),
    command(
        "status",
        "Get the status of a watcher or all watchers",
        "States are stopped, starting, active and stopping.",
        props=(_NAME_OPTIONAL,),
        reply="`statuses: {name: state}`; with a name the reply's own `status` field is the state "
        '(e.g. `"status": "active"` instead of "ok"), as in Circus',
        overrides_status=True,
    ),
    command(
        "stats",
        "Get process infos",
        "CPU, memory and age of every process, of one watcher's processes, or of one process.",
        props=(
            Prop("name", _P.STR, "watcher name; all watchers when absent"),
            Prop("process", _P.INT, "one pid of that watcher"),
            Prop("extended", _P.BOOL, "include what the extended_stats hook adds", default=False),
        ),
        reply="no name: `infos: {watcher: {pid: info}}`; name: `name`, `info: {pid: info}`; "
        "process: `process`, `info`",
        check=checks.check_stats,
    ),
    command(
        "dstats",
        "Get circusd stats",
        "Process info of the daemon itself.",
        reply="`info: {...}`",
    ),
    command(
        "options",
        "Get the value of all options for a watcher",
        "Every option of the watcher, including free-form keys from its config section.",
        props=(_NAME,),
        reply="`options: {key: value}`",
    ),
    command(
        "get",
        "Get the value of specific watcher options",
        "An unknown key is an error naming the key.",
        props=(_NAME, Prop("keys", _P.STR_LIST, "option names", required=True)),
        reply="`options: {key: value}`",
        check=checks.check_get,
    ),
    command(
        "set",
        "Set a watcher option",
        "Options that change how processes are started (cmd, args, env, uid, gid, working_dir, shell, "
        "max_age...) trigger a graceful reload of the watcher; numprocesses adjusts the process count. "
        "The settable options are marked in docs/options.md; values may be JSON values or the ini text.",
        props=(_NAME, Prop("options", _P.OPTIONS, "keys and values to set", required=True)),
        waiting=True,
        check=checks.check_set,
    ),
    command(
        "signal",
        "Send a signal",
        "Sends a signal to every process of a watcher, or to one pid; --children sends it to the "
        "children of the process(es) instead, --recursive to the process(es) and all their descendants.",
        props=(
            _NAME,
            Prop("signum", _P.SIGNAL, "signal name or number (USR1, SIGUSR1, 10, SIGRTMIN+1)", required=True),
            Prop("pid", _P.INT, "one process of the watcher"),
            Prop("childpid", _P.INT, "one child of that process"),
            Prop("children", _P.BOOL, "signal the children only", default=False),
            Prop("recursive", _P.BOOL, "signal the processes and all their descendants", default=False),
        ),
        check=checks.check_signal,
    ),
    command(
        "kill",
        "Kill a watcher's processes",
        "Sends the stop signal (or signum), waits up to graceful_timeout, then SIGKILLs the process "
        "and its descendants. The watcher then replaces them as usual.",
        props=(
            _NAME,
            Prop("pid", _P.INT, "one process of the watcher"),
            Prop("signum", _P.SIGNAL, "signal to send first instead of the watcher's stop_signal"),
            Prop("graceful_timeout", _P.NUMBER, "seconds to wait before SIGKILL"),
        ),
        waiting=True,
        check=checks.check_kill,
    ),
    command(
        "globaloptions",
        "Get the arbiter options",
        "The five options Circus reports from the [circus] section: the three endpoints, check_delay "
        "and multicast_endpoint; with an option name, just that one.",
        props=(Prop("option", _P.STR, "one option name"),),
        reply="`options: {endpoint, pubsub_endpoint, stats_endpoint, check_delay, multicast_endpoint}`",
    ),
    command(
        "quit",
        "Stop all watchers gracefully, then the daemon exits",
        "The reply comes before the daemon exits; with --waiting, after the watchers are stopped.",
        waiting=True,
    ),
    command(
        "listen",
        "Subscribe to a watcher event",
        "Prints events from the daemon's pubsub endpoint as they happen, one per line, until Ctrl-C. "
        "Topics are prefixes such as watcher.web. (all events when none is given). The pubsub "
        "endpoint is asked from the daemon unless given with --pubsub-endpoint or as an argument "
        "that contains '://'.",
        props=(
            Prop("topics", _P.STR_LIST, "topic prefixes to subscribe to"),
            Prop("pubsub_endpoint", _P.STR, "the daemon's pubsub endpoint"),
        ),
        client_only=True,
    ),
)

COMMANDS: Mapping[str, CommandSpec] = {c.name: c for c in COMMAND_TABLE}


def get_command(name: str) -> CommandSpec:
    """The spec of `name` (case-insensitive); ClientError errno 2 with Circus's message if unknown."""
    spec = COMMANDS.get(name.lower()) if isinstance(name, str) else None
    if spec is None:
        hint = did_you_mean(name, COMMANDS) if isinstance(name, str) else ""
        raise ClientError(f"unknown command: {name!r}{hint}", Errno.UNKNOWN_COMMAND)
    return spec


def validate(command: str, properties: Mapping[str, object] | None, *, fill_defaults: bool = True) -> dict:
    """Check `properties` against the table and return them normalized (signals as ints, defaults
    filled unless fill_defaults is False). Raises ClientError with Circus's errno and message style.

    A null value counts as absent, as Circus's circusctl sends nulls for options not given.
    """
    return check_request(get_command(command), properties, fill_defaults=fill_defaults)
