"""What the daemon counts for /metrics from its own event stream and its control endpoint. Pure:
events and command timings in, plain counts out.

Rules: everything a watcher decides is read from the events it publishes (protocol/pubsub.py's
payloads), never from the watcher: a restart is a `reap` the daemon did not ask for (its cause is the
exit code, or the signal when exit_code is -signum), flapping is the `flapping` event, a reload runs
from its first progress event to the one that says `done` or `rolled_back` (the `time` of each
event, so the duration does not depend on when it is read). A removed watcher's counts go with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from circus_web_stack.core.notices import EventName
from circus_web_stack.protocol.signals import signal_name
from circus_web_stack.runtime.metrics.histogram import COMMAND_BOUNDS, RELOAD_BOUNDS, Histogram

# (watcher, wid, cause, code): cause "exit" with the exit status, or "signal" with the signal's name
RestartKey = tuple[str, str, str, str]


def restart_cause(exit_code: int) -> tuple[str, str]:
    """("exit", "3") for an exit status, ("signal", "SIGKILL") for exit_code -9 (pubsub's convention)."""
    if exit_code < 0:
        return "signal", signal_name(-exit_code)
    return "exit", str(exit_code)


@dataclass
class EventLedger:
    restarts: dict[RestartKey, int] = field(default_factory=dict)
    flapping: dict[tuple[str, str], int] = field(default_factory=dict)  # (watcher, paused|gave_up)
    reloads: dict[tuple[str, str], int] = field(default_factory=dict)  # (watcher, outcome)
    reload_durations: dict[str, Histogram] = field(default_factory=dict)
    _reload_started: dict[str, float] = field(default_factory=dict)

    def apply(self, watcher: str, event: str, payload: dict) -> None:
        if event == EventName.REAP and payload.get("expected") is False:
            code = payload.get("exit_code")
            if isinstance(code, int):
                key = (watcher, _wid(payload), *restart_cause(code))
                self.restarts[key] = self.restarts.get(key, 0) + 1
        elif event == EventName.FLAPPING:
            self._count(self.flapping, (watcher, "gave_up" if payload.get("gave_up") else "paused"))
        elif event == EventName.RELOAD:
            self._reload(watcher, payload)
        elif event == EventName.STOP and self._reload_started.pop(watcher, None) is not None:
            self._count(self.reloads, (watcher, "interrupted"))
        elif event == EventName.REMOVE:
            self.forget(watcher)

    def _reload(self, watcher: str, payload: dict) -> None:
        at = payload.get("time")
        if not isinstance(at, int | float):
            return
        if payload.get("rolled_back") or payload.get("done"):
            outcome = "rolled_back" if payload.get("rolled_back") else "done"
            self._count(self.reloads, (watcher, outcome))
            started = self._reload_started.pop(watcher, at)
            histogram = self.reload_durations.setdefault(watcher, Histogram(RELOAD_BOUNDS))
            histogram.observe(max(0.0, at - started))
        elif "new" in payload:  # progress: the first one starts the clock
            self._reload_started.setdefault(watcher, at)
        else:  # send_hup: a SIGHUP to every process, done at once (Circus's bare {"time"})
            self._count(self.reloads, (watcher, "hup"))

    def forget(self, watcher: str) -> None:
        for table in (self.restarts, self.flapping, self.reloads):
            for key in [k for k in table if k[0] == watcher]:
                del table[key]
        self.reload_durations.pop(watcher, None)
        self._reload_started.pop(watcher, None)

    def copy(self) -> EventLedger:
        return EventLedger(
            dict(self.restarts),
            dict(self.flapping),
            dict(self.reloads),
            {w: h.copy() for w, h in self.reload_durations.items()},
            dict(self._reload_started),
        )

    @staticmethod
    def _count(table: dict, key: tuple[str, str]) -> None:
        table[key] = table.get(key, 0) + 1


def _wid(payload: dict) -> str:
    wid = payload.get("wid")
    return str(wid) if isinstance(wid, int) else ""


@dataclass
class CommandFigures:
    ok: int = 0
    errors: int = 0
    latency: Histogram = field(default_factory=lambda: Histogram(COMMAND_BOUNDS))


@dataclass
class CommandMeter:
    """Per command of the control endpoint: how many answered ok or with an error, and how long each
    took from its arrival to the end of its work."""

    commands: dict[str, CommandFigures] = field(default_factory=dict)

    def observe(self, command: str, seconds: float, ok: bool) -> None:
        figures = self.commands.get(command)
        if figures is None:
            figures = self.commands[command] = CommandFigures()
        if ok:
            figures.ok += 1
        else:
            figures.errors += 1
        figures.latency.observe(seconds)

    def copy(self) -> CommandMeter:
        return CommandMeter(
            {c: CommandFigures(f.ok, f.errors, f.latency.copy()) for c, f in self.commands.items()}
        )
