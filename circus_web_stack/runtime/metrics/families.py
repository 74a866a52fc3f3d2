"""The metric families of /metrics, named and labelled in one place, built from a plain snapshot. Pure.

Rules (Prometheus's naming conventions): every name starts `circus_`, is snake_case, says its unit
in base units (`_seconds`, `_bytes`), and a counter ends in `_total`. A long-lived series is labelled
by what lasts: watcher, wid (the worker's slot, reused by its replacement), socket name; a pid is
never a label, so a recycled worker continues its slot's series instead of starting a new one per
pid. A state is an enum: one series per possible state, 1 for the current one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from circus_web_stack.core.states import ProcessState, WatcherPhase
from circus_web_stack.protocol.stats import ListenerFigures, ProcessSample
from circus_web_stack.runtime.metrics.histogram import Histogram
from circus_web_stack.runtime.metrics.ledgers import CommandMeter, EventLedger
from circus_web_stack.runtime.metrics.slots import Slot, SlotRequests

F = TypeVar("F", GaugeMetricFamily, CounterMetricFamily, HistogramMetricFamily)
PROCESS = ["watcher", "wid"]
# The states a process in the process table can be in (an exited one has left it).
PROCESS_STATES = (ProcessState.STARTING, ProcessState.RUNNING, ProcessState.STOPPING)


@dataclass(frozen=True)
class ProcessView:
    pid: int
    wid: int
    state: str  # a ProcessState value
    ready: bool


@dataclass(frozen=True)
class WatcherView:
    name: str
    phase: str  # a WatcherPhase value
    desired: int
    processes: tuple[ProcessView, ...]


@dataclass(frozen=True)
class SocketView:
    name: str
    address: str
    figures: ListenerFigures


@dataclass
class MetricsSnapshot:
    """Everything one scrape renders: read on the hub (watchers, counts), then sampled off it."""

    watchers: list[WatcherView] = field(default_factory=list)
    sockets: list[SocketView] = field(default_factory=list)
    events: EventLedger = field(default_factory=EventLedger)
    commands: CommandMeter = field(default_factory=CommandMeter)
    requests: dict[Slot, SlotRequests] = field(default_factory=dict)
    samples: dict[int, ProcessSample] = field(default_factory=dict)  # by pid
    cpu: dict[Slot, float] = field(default_factory=dict)


# name -> (kind, help, labels): every family of /metrics, once.
FAMILIES: dict[str, tuple[type[Metric], str, list[str]]] = {
    "circus_watcher_state": (
        GaugeMetricFamily,
        "The watcher's phase: 1 for the current one",
        ["watcher", "state"],
    ),
    "circus_watcher_processes": (
        GaugeMetricFamily,
        "Processes alive (starting, running or stopping)",
        ["watcher"],
    ),
    "circus_watcher_ready_processes": (GaugeMetricFamily, "Processes ready (running)", ["watcher"]),
    "circus_watcher_desired_processes": (GaugeMetricFamily, "numprocesses: the target", ["watcher"]),
    "circus_watcher_flapping": (
        CounterMetricFamily,
        "Times the watcher's processes flapped: paused for retry_in, or gave up (stays stopped)",
        ["watcher", "outcome"],
    ),
    "circus_watcher_reloads": (
        CounterMetricFamily,
        "Reloads by how they ended: done, rolled_back, interrupted (by a stop), hup (send_hup)",
        ["watcher", "outcome"],
    ),
    "circus_watcher_reload_duration_seconds": (
        HistogramMetricFamily,
        "Rolling reloads, from the first new process to the last step (done or rolled back)",
        ["watcher"],
    ),
    "circus_process_cpu_seconds": (
        CounterMetricFamily,
        "CPU time (user + system) of the slot's processes, past ones included, without their children",
        PROCESS,
    ),
    "circus_process_resident_memory_bytes": (GaugeMetricFamily, "Resident memory of the process", PROCESS),
    "circus_process_start_time_seconds": (
        GaugeMetricFamily,
        "When the slot's process started, seconds since the epoch",
        PROCESS,
    ),
    "circus_process_state": (
        GaugeMetricFamily,
        "The process's state: 1 for the current one",
        [*PROCESS, "state"],
    ),
    "circus_process_ready": (GaugeMetricFamily, "1 once the process is ready (running)", PROCESS),
    "circus_process_restarts": (
        CounterMetricFamily,
        "Exits the daemon did not ask for (each respawned unless the watcher paused or gave up), by "
        "cause: exit (code: the exit status) or signal (code: the signal's name)",
        [*PROCESS, "cause", "code"],
    ),
    "circus_http_requests": (
        CounterMetricFamily,
        "Requests the slot's WSGI workers answered (chaussette --request-metrics), by status class",
        [*PROCESS, "status_class"],
    ),
    "circus_http_request_duration_seconds": (
        HistogramMetricFamily,
        "Time from a request's head to the end of its response, in the slot's WSGI workers",
        PROCESS,
    ),
    "circus_socket_info": (
        GaugeMetricFamily,
        "A socket the daemon holds, with its address",
        ["socket", "address"],
    ),
    "circus_socket_accept_queue": (
        GaugeMetricFamily,
        "Connections waiting in the accept queue now",
        ["socket"],
    ),
    "circus_socket_backlog": (GaugeMetricFamily, "The accept queue's limit (listen backlog)", ["socket"]),
    "circus_socket_open_connections": (
        GaugeMetricFamily,
        "Accepted connections that a process holds open now (TCP)",
        ["socket"],
    ),
    "circus_socket_accepted_connections": (
        CounterMetricFamily,
        "Connections accepted since the metrics endpoint started (TCP)",
        ["socket"],
    ),
    "circus_socket_dropped_connections": (
        CounterMetricFamily,
        "Connections the kernel refused at this listener since it was bound (e.g. a full accept queue)",
        ["socket"],
    ),
    "circus_commands": (
        CounterMetricFamily,
        "Commands the control endpoint answered, by outcome (ok or error)",
        ["command", "outcome"],
    ),
    "circus_command_duration_seconds": (
        HistogramMetricFamily,
        "Time from a command's arrival to the end of its work (a command answered at once, as without "
        "waiting, includes the work after its answer)",
        ["command"],
    ),
}


def gauge(name: str) -> GaugeMetricFamily:
    return _new(name, GaugeMetricFamily)


def counter(name: str) -> CounterMetricFamily:
    return _new(name, CounterMetricFamily)


def histogram(name: str) -> HistogramMetricFamily:
    return _new(name, HistogramMetricFamily)


def _new(name: str, kind: type[F]) -> F:
    """An empty family as FAMILIES declares it; `kind` must be the declared one."""
    declared, documentation, labels = FAMILIES[name]
    if declared is not kind:
        raise TypeError(f"{name} is declared a {declared.__name__}, not a {kind.__name__}")
    return kind(name, documentation, labels=labels)


def label_value(state: str) -> str:
    """A state as a label value: `given up` -> `given_up`."""
    return state.replace(" ", "_")


def build_families(snap: MetricsSnapshot) -> list[Metric]:
    return [
        *_watcher_families(snap),
        *_process_families(snap),
        *_socket_families(snap),
        *_daemon_families(snap),
    ]


def _watcher_families(snap: MetricsSnapshot) -> Iterable[Metric]:
    state = gauge("circus_watcher_state")
    live = gauge("circus_watcher_processes")
    ready = gauge("circus_watcher_ready_processes")
    desired = gauge("circus_watcher_desired_processes")
    for w in snap.watchers:
        for phase in WatcherPhase:
            state.add_metric([w.name, label_value(phase.value)], 1.0 if phase.value == w.phase else 0.0)
        alive = [p for p in w.processes if p.state != ProcessState.EXITED]
        live.add_metric([w.name], len(alive))
        ready.add_metric([w.name], sum(1 for p in alive if p.ready))
        desired.add_metric([w.name], w.desired)
    flapping = counter("circus_watcher_flapping")
    for (watcher, outcome), count in sorted(snap.events.flapping.items()):
        flapping.add_metric([watcher, outcome], count)
    reloads = counter("circus_watcher_reloads")
    for (watcher, outcome), count in sorted(snap.events.reloads.items()):
        reloads.add_metric([watcher, outcome], count)
    durations = histogram("circus_watcher_reload_duration_seconds")
    for watcher, observed in sorted(snap.events.reload_durations.items()):
        _add_histogram(durations, [watcher], observed)
    return [state, live, ready, desired, flapping, reloads, durations]


def _process_families(snap: MetricsSnapshot) -> Iterable[Metric]:
    cpu = counter("circus_process_cpu_seconds")
    for (watcher, wid), seconds in sorted(snap.cpu.items()):
        cpu.add_metric([watcher, wid], seconds)
    rss = gauge("circus_process_resident_memory_bytes")
    started = gauge("circus_process_start_time_seconds")
    state = gauge("circus_process_state")
    ready = gauge("circus_process_ready")
    for w in snap.watchers:
        for p in sorted(w.processes, key=lambda p: p.wid):
            labels = [w.name, str(p.wid)]
            sample = snap.samples.get(p.pid)
            if sample is not None and sample.rss_bytes is not None:
                rss.add_metric(labels, sample.rss_bytes)
            if sample is not None and sample.create_time is not None:
                started.add_metric(labels, sample.create_time)
            for value in PROCESS_STATES:
                state.add_metric([*labels, value.value], 1.0 if value.value == p.state else 0.0)
            ready.add_metric(labels, 1.0 if p.ready else 0.0)
    restarts = counter("circus_process_restarts")
    for key, count in sorted(snap.events.restarts.items()):
        restarts.add_metric(list(key), count)
    requests = counter("circus_http_requests")
    latency = histogram("circus_http_request_duration_seconds")
    for (watcher, wid), figures in sorted(snap.requests.items()):
        for status_class, count in sorted(figures.statuses.items()):
            requests.add_metric([watcher, wid, status_class], count)
        _add_histogram(latency, [watcher, wid], figures.latency)
    return [cpu, rss, started, state, ready, restarts, requests, latency]


def _socket_families(snap: MetricsSnapshot) -> Iterable[Metric]:
    info = gauge("circus_socket_info")
    queue = gauge("circus_socket_accept_queue")
    backlog = gauge("circus_socket_backlog")
    open_now = gauge("circus_socket_open_connections")
    accepted = counter("circus_socket_accepted_connections")
    dropped = counter("circus_socket_dropped_connections")
    for s in sorted(snap.sockets, key=lambda s: s.name):
        info.add_metric([s.name, s.address], 1.0)
        for family, value in (
            (queue, s.figures.queue),
            (backlog, s.figures.backlog),
            (open_now, s.figures.connections),
            (accepted, s.figures.accepted),
            (dropped, s.figures.dropped),
        ):
            if value is not None:
                family.add_metric([s.name], value)
    return [info, queue, backlog, open_now, accepted, dropped]


def _daemon_families(snap: MetricsSnapshot) -> Iterable[Metric]:
    commands = counter("circus_commands")
    latency = histogram("circus_command_duration_seconds")
    for command, figures in sorted(snap.commands.commands.items()):
        commands.add_metric([command, "ok"], figures.ok)
        commands.add_metric([command, "error"], figures.errors)
        _add_histogram(latency, [command], figures.latency)
    return [commands, latency]


def _add_histogram(family: HistogramMetricFamily, labels: list[str], observed: Histogram) -> None:
    buckets = [(floatToGoString(bound), count) for bound, count in observed.cumulative()]
    family.add_metric(labels, buckets, observed.sum)
