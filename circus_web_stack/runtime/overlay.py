"""Keeping run-time changes across restarts: the overlay file (config/overlay.py) written from the
daemon's watchers as they are, at the `saveoverlay` command and, with `[circus] overlay = auto`,
shortly after every watcher added, removed or changed (one write per burst of events).

Rules: an arbiter extension that only listens to the event stream (it never reaches into a watcher
but through the arbiter's list of them); the overlay is the difference from the config file as it is
on disk now, written atomically (a temp file renamed over it), and removed when nothing differs. A
failed automatic write is logged, and the daemon goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable
from typing import Any

import gevent

from circus_web_stack.config.loader import load_config
from circus_web_stack.config.overlay import overlay_of, overlay_path
from circus_web_stack.core.errors import ConfigError
from circus_web_stack.core.notices import EventName

log = logging.getLogger("circus_web_stack.overlay")

DEBOUNCE_S = 0.2
_CHANGES = frozenset({EventName.ADD, EventName.REMOVE, EventName.UPDATED})


class OverlayWriter:
    """`mode` is [circus] overlay (manual or auto); `helpers` are the watchers the daemon adds itself
    (circusd-stats, circushttpd), never written."""

    def __init__(self, mode: str, helpers: Iterable[str] = ()) -> None:
        self.mode = mode
        self.helpers = tuple(helpers)
        self._arbiter: Any = None
        self._due: gevent.Greenlet | None = None

    def start(self, arbiter: Any) -> None:
        self._arbiter = arbiter
        if self.mode == "auto":
            arbiter.event_listeners.append(self.on_event)

    def on_event(self, watcher: str, event: str, payload: dict[str, Any]) -> None:
        if event in _CHANGES and watcher not in self.helpers and (self._due is None or self._due.dead):
            self._due = gevent.spawn_later(DEBOUNCE_S, self._save_logged)

    def _save_logged(self) -> None:
        try:
            self.save()
        except (ConfigError, OSError) as exc:
            log.error("could not write the run-time changes (overlay = auto): %s", exc)

    def save(self) -> dict[str, Any]:
        """Write the overlay now; what it holds. Raises ConfigError (the config file cannot be read
        now) or OSError (the file cannot be written)."""
        path = self._arbiter.config.path
        if not path:
            raise ConfigError(
                "the daemon was started without a config file: there is no file to keep changes beside"
            )
        target = overlay_path(path)
        file_config = load_config(path, with_overlay=False)
        overlay = overlay_of(file_config, [w.config for w in self._arbiter.iter_watchers()], self.helpers)
        if overlay.empty:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
        else:
            fd, temporary = tempfile.mkstemp(prefix=".overlay-", dir=os.path.dirname(target) or ".")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(overlay.to_json(path))
                os.replace(temporary, target)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
                raise
        summary = {
            "path": target,
            "numprocesses": dict(overlay.numprocesses),
            "added": sorted(overlay.added),
            "removed": list(overlay.removed),
        }
        log.info(
            "run-time changes %s %s: numprocesses %s, added %s, removed %s",
            "cleared, removed" if overlay.empty else "written to",
            target,
            summary["numprocesses"] or "-",
            ", ".join(summary["added"]) or "-",
            ", ".join(summary["removed"]) or "-",
        )
        return summary

    def stop(self) -> None:
        if self._arbiter is not None and self.on_event in self._arbiter.event_listeners:
            self._arbiter.event_listeners.remove(self.on_event)
        if self._due is not None and not self._due.dead:
            self._due.kill(block=False)
            self._save_logged()  # a change just before the stop is kept too
