"""Process statistics on the wire: the per-process info fields of `stats`, `dstats` and the stats
stream (Circus 0.19's, plus numeric bytes), their formatting, per-watcher aggregates and topics.

Rule: pure arithmetic on samples the runtime took; "N/A" stands for a value that could not be read
and propagates into aggregates as Circus's does.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

NOT_AVAILABLE = "N/A"
STATS_TOPIC_PREFIX = "stat."
CIRCUS_TOPIC = "circus"  # stat.circus.<pid>: the daemon and its helpers
SOCKETS_TOPIC = "sockets"  # stat.sockets.<fd>

_UNITS = ("K", "M", "G", "T", "P", "E", "Z", "Y")


@dataclass(frozen=True)
class InfoField:
    name: str
    doc: str
    in_circus: bool = True


PROCESS_INFO_FIELDS: tuple[InfoField, ...] = (
    InfoField("pid", "process id"),
    InfoField("wid", "worker number within its watcher (stats command only)"),
    InfoField("cpu", "CPU % over the last sampling interval (100 = one core), or N/A"),
    InfoField("mem", "resident memory as % of the machine's, 3 decimals"),
    InfoField("mem_info1", "resident memory (RSS) as a human string, e.g. 26.81M"),
    InfoField("mem_info2", "virtual memory (VMS) as a human string"),
    InfoField("rss_bytes", "resident memory in bytes", in_circus=False),
    InfoField("vms_bytes", "virtual memory in bytes", in_circus=False),
    InfoField("ctime", "CPU time used (user + system) as m:ss.cc"),
    InfoField("cpu_seconds", "CPU time used (user + system) in seconds", in_circus=False),
    InfoField("username", "owner of the process"),
    InfoField("nice", "nice value"),
    InfoField("create_time", "start time, epoch seconds"),
    InfoField("age", "seconds since create_time"),
    InfoField("started", "when the daemon spawned it, epoch seconds (stats command only)"),
    InfoField("cmdline", "basename of argv[0]"),
    InfoField("children", "infos of its child processes"),
)


@dataclass(frozen=True)
class ProcessSample:
    """What the runtime read about one process; None where it could not (access denied, gone)."""

    pid: int
    rss_bytes: int | None = None
    vms_bytes: int | None = None
    mem_percent: float | None = None
    cpu_seconds: float | None = None  # user + system, without children
    cpu_percent: float | None = None  # from cpu_percent() over an interval
    username: str | None = None
    nice: int | None = None
    create_time: float | None = None
    argv: tuple[str, ...] | None = None
    children: tuple[ProcessSample, ...] = ()


def human_bytes(count: int) -> str:
    """Circus's memory strings: 1024-based, two decimals and a unit letter ("26.81M"), or "512B"."""
    for power in range(len(_UNITS), 0, -1):
        unit = 1 << (10 * power)
        if count >= unit:
            return f"{count / unit:.2f}{_UNITS[power - 1]}"
    return f"{count}B"


def format_ctime(cpu_seconds: float) -> str:
    """CPU time as "m:ss.cc". Circus wraps minutes at 60 and mangles the hundredths (0.05 s shows as
    ".50"); here minutes keep counting and the hundredths are exact (truncated)."""
    hundredths = int(cpu_seconds * 100 + 1e-6)
    minutes, rest = divmod(hundredths, 6000)
    seconds, cents = divmod(rest, 100)
    return f"{minutes}:{seconds:02d}.{cents:02d}"


def cpu_percent(prev_cpu_s: float, prev_at: float, cpu_s: float, at: float) -> float | None:
    """CPU % between two samples (100 = one core busy), one decimal; None if the interval is empty
    or the counter went backwards (the pid was reused)."""
    elapsed = at - prev_at
    used = cpu_s - prev_cpu_s
    if elapsed <= 0 or used < 0:
        return None
    return round(used / elapsed * 100, 1)


def lifetime_cpu_percent(cpu_s: float, create_time: float, now: float) -> float | None:
    """CPU % averaged over the process's whole life: the first reading, before any interval."""
    return cpu_percent(0.0, create_time, cpu_s, now)


def process_info(
    sample: ProcessSample, *, now: float, started: float | None = None, wid: int | None = None
) -> dict:
    """The info dict of one process, as `stats` replies and the stats stream publish it.

    `started` and `wid` are known to the daemon only (the `stats` command adds them).
    """
    info: dict = {
        "mem_info1": _or_na(sample.rss_bytes, human_bytes),
        "mem_info2": _or_na(sample.vms_bytes, human_bytes),
        "cpu": _or_na(sample.cpu_percent, float),
        "mem": _or_na(sample.mem_percent, lambda p: round(p, 3)),
        "ctime": _or_na(sample.cpu_seconds, format_ctime),
        "pid": sample.pid,
        "username": _or_na(sample.username, str),
        "nice": _or_na(sample.nice, int),
        "create_time": _or_na(sample.create_time, float),
        "age": _or_na(sample.create_time, lambda t: max(0.0, now - t)),
        "cmdline": _command_name(sample.argv),
        "children": [process_info(child, now=now) for child in sample.children],
        "rss_bytes": _or_na(sample.rss_bytes, int),
        "vms_bytes": _or_na(sample.vms_bytes, int),
        "cpu_seconds": _or_na(sample.cpu_seconds, lambda s: round(s, 2)),
    }
    if started is not None:
        info["started"] = started
    if wid is not None:
        info["wid"] = wid
    return info


def aggregate(infos: Iterable[dict]) -> dict:
    """A watcher's totals: pids, mean cpu, summed mem %, oldest age, summed rss_bytes.

    As Circus: one "N/A" cpu or mem makes the total "N/A"; age ignores "N/A" values and is "N/A"
    only if all are; an empty watcher has cpu 0.0, mem 0 and age "N/A".
    """
    items = list(infos)
    cpus = [i.get("cpu", NOT_AVAILABLE) for i in items]
    mems = [i.get("mem", NOT_AVAILABLE) for i in items]
    ages = [i["age"] for i in items if _is_number(i.get("age"))]
    rss = [i.get("rss_bytes", NOT_AVAILABLE) for i in items]
    if any(not _is_number(c) for c in cpus):
        cpu: object = NOT_AVAILABLE
    else:
        cpu = round(sum(cpus) / len(cpus), 1) if cpus else 0.0
    return {
        "pid": [i.get("pid") for i in items],
        "cpu": cpu,
        "mem": NOT_AVAILABLE if any(not _is_number(m) for m in mems) else round(sum(mems), 3),
        "age": max(ages) if ages else NOT_AVAILABLE,
        "rss_bytes": NOT_AVAILABLE if any(not _is_number(r) for r in rss) else sum(rss),
    }


def aggregate_totals(infos: Iterable[dict]) -> dict:
    """Ours, beside Circus's aggregate: `cpu_total`, the watcher's summed CPU % (its mean hides
    a watcher of eight busy workers), and `processes`, how many were sampled."""
    cpus = [i.get("cpu", NOT_AVAILABLE) for i in infos]
    total = NOT_AVAILABLE if any(not _is_number(c) for c in cpus) else round(sum(cpus), 1)
    return {"cpu_total": total, "processes": len(cpus)}


# ---------------------------------------------------------------------------------------------------
# The stats stream (circusd-stats' PUB socket): [topic, json] messages.


def stat_topic(watcher: str, pid: int | None = None) -> str:
    """`stat.<watcher>` (aggregate) or `stat.<watcher>.<pid>`; the daemon's own processes use
    watcher "circus"."""
    return f"{STATS_TOPIC_PREFIX}{watcher}" if pid is None else f"{STATS_TOPIC_PREFIX}{watcher}.{pid}"


def socket_stat_topic(fd: int | None = None) -> str:
    return stat_topic(SOCKETS_TOPIC, fd)


def process_stat_payload(info: dict, *, name: str | None = None) -> dict:
    """A per-process message: the info plus `subtopic` (the pid) and `name` (set for the daemon's
    own processes, e.g. "circusd", null for workers), as Circus publishes it."""
    return {**info, "subtopic": info["pid"], "name": name}


@dataclass(frozen=True)
class ListenerFigures:
    """What Linux reports about one listening socket (ours; Circus had only `reads`). None where the
    kernel does not say: `accepted` and `connections` are known for TCP listeners only."""

    queue: int | None = None  # connections waiting in the accept queue now
    backlog: int | None = None  # the accept queue's limit
    dropped: int | None = None  # connections the kernel refused at this listener since it was bound
    connections: int | None = None  # accepted connections a process holds open now
    accepted: int | None = None  # connections accepted since circusd-stats started counting
    accepted_last: int | None = None  # of which during the last interval


SOCKET_STAT_FIELDS: tuple[InfoField, ...] = (
    InfoField("fd", "the socket's fd in circusd (and in workers with use_sockets)"),
    InfoField("address", "host:port, or the path of a unix socket"),
    InfoField("reads", "connections accepted during the last interval (Circus: select() hits, <= 100/s)"),
    InfoField("name", "the [socket:NAME] it was configured as", in_circus=False),
    InfoField("queue", "connections waiting in the accept queue now (the kernel's figure)", in_circus=False),
    InfoField("backlog", "the accept queue's limit (listen backlog, capped by somaxconn)", in_circus=False),
    InfoField("dropped", "connections the kernel dropped at this listener since bound", in_circus=False),
    InfoField("connections", "accepted connections that a process holds open now (TCP)", in_circus=False),
    InfoField("accepted", "connections accepted since circusd-stats started (TCP)", in_circus=False),
)


def socket_stat_payload(
    fd: int,
    address: str,
    reads: int,
    *,
    accepted: int | None = None,
    name: str | None = None,
    figures: ListenerFigures | None = None,
) -> dict:
    """One listening socket. `reads` keeps its place in Circus's payload (circus-top shows it); we
    fill it with the connections accepted during the last interval. With `figures`, the kernel's
    numbers follow, "N/A" where it has none."""
    payload: dict = {"fd": fd, "subtopic": fd, "reads": reads, "address": address}
    if name is not None:
        payload["name"] = name
    if figures is not None:
        payload.update(
            {
                "queue": _or_na(figures.queue, int),
                "backlog": _or_na(figures.backlog, int),
                "dropped": _or_na(figures.dropped, int),
                "connections": _or_na(figures.connections, int),
                "accepted": _or_na(figures.accepted, int),
            }
        )
    if accepted is not None:
        payload["accepted"] = accepted
    return payload


def reads_of(figures: ListenerFigures) -> int:
    """Circus's `reads` field for a listener: connections accepted during the last interval."""
    return figures.accepted_last or 0


def sockets_aggregate(payloads: Sequence[dict]) -> dict:
    """All listeners: Circus's addresses and summed reads, plus our summed figures (a figure is
    "N/A" if any listener lacks it)."""
    total: dict = {
        "addresses": [p["address"] for p in payloads],
        "reads": sum(p["reads"] for p in payloads),
    }
    for key in ("queue", "dropped", "connections", "accepted"):
        values = [p[key] for p in payloads if key in p]
        if values:
            total[key] = (
                NOT_AVAILABLE
                if any(not _is_number(v) for v in values) or len(values) < len(payloads)
                else sum(values)
            )
    return total


def parse_stat_topic(topic: str | bytes, watchers: Iterable[str] = ()) -> tuple[str, int | None]:
    """(watcher, pid or None) of a stats topic. A dotted watcher name is ambiguous when it ends in
    digits (`stat.api.2`): a name listed in `watchers` wins, otherwise a numeric tail is a pid."""
    text = topic.decode("utf-8", "replace") if isinstance(topic, bytes) else topic
    if not text.startswith(STATS_TOPIC_PREFIX) or len(text) == len(STATS_TOPIC_PREFIX):
        raise ValueError(f"not a stats topic (expected stat.<watcher>[.<pid>]): {text!r}")
    rest = text[len(STATS_TOPIC_PREFIX) :]
    if rest in set(watchers):
        return rest, None
    name, dot, tail = rest.rpartition(".")
    if dot and name and tail.isdigit():
        return name, int(tail)
    return rest, None


def _or_na(value: object, convert: Callable[[Any], object]) -> object:
    return NOT_AVAILABLE if value is None else convert(value)


def _command_name(argv: tuple[str, ...] | None) -> str:
    if not argv or not argv[0]:
        return NOT_AVAILABLE
    return posixpath.basename(argv[0])


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
