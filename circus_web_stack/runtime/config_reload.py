"""reloadconfig: the file read again and only the difference applied, all or nothing where it can
be (an invalid file, a hook that cannot be imported, a socket that cannot be bound change nothing).

The rule: a changed socket is bound anew before the watchers using it are rolled onto it, and the old
one is closed only after that; unchanged watchers keep their processes. The arbiter holds its lock
for watcher changes around it (Arbiter.reload_config).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from circus_web_stack.config.loader import load_config
from circus_web_stack.config.model import Config, ConfigDiff, diff
from circus_web_stack.config.plugin_section import with_plugin_watchers
from circus_web_stack.core.errors import ClientError, ConfigError, Errno
from circus_web_stack.runtime.hooks import HookRunner
from circus_web_stack.runtime.sockets import BoundSocket, adjust_in_place, bind_socket, same_address

if TYPE_CHECKING:
    from circus_web_stack.runtime.arbiter import Arbiter

log = logging.getLogger("circus_web_stack.arbiter")


def apply_config_file(arbiter: Arbiter, path: str | None) -> dict[str, list[str]]:
    source = path or arbiter.config.path
    if source is None:
        raise ClientError("this daemon was not started from a config file; nothing to reload")
    try:
        new = with_plugin_watchers(load_config(source), _plugin_endpoints(arbiter))
    except ConfigError as exc:
        raise ClientError(f"the new configuration is invalid, nothing changed: {exc}") from exc
    change = diff(arbiter.config, new)
    if change.daemon_changed:
        log.warning(
            "[circus] options changed (%s); they take effect when circusd restarts",
            ", ".join(change.daemon_keys),
        )
    # Against what runs, not only the last file: an `rm` since then leaves a watcher of the file to
    # start again, an `add` of a name the file now has takes the file's config.
    running = {w.name for w in arbiter.watchers}
    removed = [n for n in change.removed_watchers if n in running]
    scaled = [n for n in change.scaled_only if n in running]
    changed = [n for n in change.changed_watchers if n in running]
    adopted = [n for n in change.added_watchers if n in running]
    added = [w.name for w in new.watchers if w.name not in running]
    for name in (*added, *changed, *adopted):
        try:  # resolve every new hook first: one that cannot be imported must change nothing
            HookRunner(dict(new.watcher(name).hooks))
        except ConfigError as exc:
            raise ClientError(f"the new configuration is invalid, nothing changed: {exc}") from exc
    retired = _stage_sockets(arbiter, new, change)
    arbiter.config = new
    failures: list[str] = []
    for name in removed:
        arbiter.rm_watcher(name)
    for name in scaled:
        arbiter.get_watcher(name).set_numprocesses(new.watcher(name).numprocesses)
    for name in (*changed, *adopted):
        moved = any(opt.startswith("socket:") for opt in change.changed_options.get(name, ()))
        try:
            arbiter.get_watcher(name).update_config(new.watcher(name), force_reload=moved)
        except ClientError as exc:
            failures.append(exc.reason)
            # Remember what the watcher really runs, so the next reloadconfig tries again.
            kept = arbiter.get_watcher(name).config
            arbiter.config = replace(
                arbiter.config, watchers=tuple(kept if w.name == name else w for w in arbiter.config.watchers)
            )
    for name in added:
        arbiter.add_watcher_config(new.watcher(name), start=new.watcher(name).autostart)
    arbiter.on_demand.rearm_at_rest()  # waiters on a socket bound anew wait on the new one
    for old in retired:
        old.close()
    for name in change.removed_sockets:
        arbiter.sockets.remove(name)
    if failures:
        raise ClientError("reloadconfig applied the rest, but: " + "; ".join(failures), Errno.COMMAND_ERROR)
    return {"added": added, "removed": removed, "changed": [*changed, *adopted], "scaled": scaled}


def _plugin_endpoints(arbiter: Arbiter) -> dict[str, str]:
    """The endpoints the plugins' watchers were given: those the daemon bound (and keeps)."""
    daemon = arbiter.config.daemon
    return {
        "control": arbiter.endpoints.get("control", daemon.endpoint or ""),
        "pubsub": arbiter.endpoints.get("pubsub", daemon.pubsub_endpoint or ""),
    }


def _stage_sockets(arbiter: Arbiter, new: Config, change: ConfigDiff) -> list[BoundSocket]:
    """Bind added and changed sockets, all or nothing, and put them in place; return the old
    sockets to close once the watchers have moved. A change that keeps the address (backlog,
    blocking) is applied to the open socket: binding the same address twice is not possible."""
    staged: dict[str, BoundSocket] = {}
    try:
        for name in (*change.added_sockets, *change.changed_sockets):
            scfg = new.socket(name)
            old = arbiter.sockets.get(name)
            if old is not None and same_address(arbiter.config.socket(name), scfg):
                adjust_in_place(old, scfg)
                continue
            staged[name] = bind_socket(scfg)
    except OSError as exc:
        for bound in staged.values():
            bound.close()
        raise ClientError(f"the new configuration cannot bind its sockets, nothing changed: {exc}") from exc
    retired = []
    for name, bound in staged.items():
        old = arbiter.sockets.get(name)
        arbiter.sockets.add(bound)
        if old is not None:
            retired.append(old)
    return retired
