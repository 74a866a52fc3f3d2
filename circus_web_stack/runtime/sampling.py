"""Samples processes into protocol.stats.ProcessSample values: the one sampler behind the `stats` and
`dstats` commands and circusd-stats, so both report the same figures computed the same way.

Rules: two small reads per process per sample, stat and statm (runtime.stats.procfs); with `keep_open`
(circusd-stats, which samples the same processes every interval) the two files stay open and each
sample is two pread()s. What never changes (argv, user, start time) is read once per process and kept
under its identity (pid, start ticks), so a reused pid starts afresh. CPU% is measured over the
interval since the previous sample of the same process (the first reading is its lifetime average).
Caches forget a process as soon as a read finds it gone, and anything not read for FORGET_AFTER_S
(Circus's _PROCS cache never forgot). In the daemon, batches run in gevent's threadpool so the hub
never waits on /proc (Circus: `stats` at 1,000 processes blocked the daemon for 19 s).
"""

from __future__ import annotations

import pwd
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from circus_web_stack.protocol.stats import ProcessSample, cpu_percent, lifetime_cpu_percent
from circus_web_stack.runtime.stats import procfs

# A process's children are found from a scan of every process on the machine, which costs as much as
# the machine has processes; it is refreshed at most this often, and children born since the last
# scan appear at the next one.
CHILDREN_SCAN_S = 10.0
FORGET_AFTER_S = 300.0


@dataclass(slots=True)
class _Known:
    """What one process keeps between samples; `start_ticks` tells it from a later one with its pid."""

    start_ticks: int
    argv: tuple[str, ...] | None
    username: str | None
    create_time: float
    cpu_s: float
    at: float  # monotonic time of the reading cpu_s came from
    seen: float  # monotonic time it was last read
    files: procfs.PinnedFiles | None = None


class Sampler:
    def __init__(
        self,
        *,
        children_scan_s: float = CHILDREN_SCAN_S,
        keep_open: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children_scan_s = children_scan_s
        self.keep_open = keep_open
        self._clock = clock
        self._known: dict[int, _Known] = {}
        self._lock = threading.Lock()
        self._boot_time = procfs.read_boot_time()
        self._mem_total = procfs.read_mem_total()
        self._usernames: dict[int, str] = {}
        self._kids: dict[int, list[int]] = {}
        self._kids_at: float | None = None
        self._pruned_at = clock()

    # ----------------------------------------------------------------- reading (blocking)

    def read(self, pids: Iterable[int], *, with_children: bool = True) -> dict[int, ProcessSample]:
        """Sample `pids` now; a process that is gone gets an empty sample (all N/A). Blocking."""
        with self._lock:
            now = self._clock()
            if with_children and (self._kids_at is None or now - self._kids_at >= self.children_scan_s):
                self._kids = procfs.scan_ppids()
                self._kids_at = now
            samples = {}
            for pid in pids:
                sample = self._read_one(pid)
                if with_children and sample.create_time is not None:
                    kids = (self._read_one(k) for k in procfs.descendants(pid, self._kids))
                    sample = _with_children(sample, tuple(k for k in kids if k.create_time is not None))
                samples[pid] = sample
            if now - self._pruned_at >= FORGET_AFTER_S / 10:
                self._prune(now)
            return samples

    def sample_one(self, pid: int, *, with_children: bool = True) -> ProcessSample:
        """Blocking; call from a thread (see `sample_many`)."""
        return self.read([pid], with_children=with_children)[pid]

    def sample_many(self, pids: Iterable[int], *, with_children: bool = True) -> dict[int, ProcessSample]:
        """`read` in gevent's threadpool, so the daemon's hub keeps answering commands meanwhile."""
        import gevent

        wanted = list(pids)
        return gevent.get_hub().threadpool.apply(self.read, (wanted,), {"with_children": with_children})

    def forget(self, pids: Iterable[int]) -> None:
        """Drop what is kept about these pids (they were reaped)."""
        with self._lock:
            for pid in pids:
                self._drop(pid)

    def forget_except(self, live_pids: Iterable[int]) -> None:
        """Drop what is kept about every pid not in `live_pids`."""
        live = set(live_pids)
        with self._lock:
            for pid in [p for p in self._known if p not in live]:
                self._drop(pid)

    def __len__(self) -> int:
        """How many processes are remembered (for tests of forgetting)."""
        return len(self._known)

    def refresh_boot_time(self) -> None:
        """/proc/stat's btime moves when the wall clock is set; create times follow it as psutil's do."""
        self._boot_time = procfs.read_boot_time()

    # ----------------------------------------------------------------- internals

    def close(self) -> None:
        """Close the files kept open (keep_open) and forget everything."""
        with self._lock:
            for pid in list(self._known):
                self._drop(pid)

    def _drop(self, pid: int) -> None:
        known = self._known.pop(pid, None)
        if known is not None and known.files is not None:
            known.files.close()

    def _read_one(self, pid: int) -> ProcessSample:
        known = self._known.get(pid)
        files = known.files if known is not None else None
        if files is None and known is None and self.keep_open:
            files = procfs.PinnedFiles.open(pid)
        if files is not None:
            read = files.read(pid)
            stat, memory = read if read is not None else (None, None)
        else:
            stat = procfs.read_stat(pid)
            memory = procfs.read_statm(pid) if stat is not None else None
        at = self._clock()
        if stat is None or memory is None:
            if known is None and files is not None:
                files.close()
            self._drop(pid)
            return ProcessSample(pid=pid)
        cpu_s = stat.cpu_seconds
        if known is None or known.start_ticks != stat.start_ticks:  # new, or the pid was reused
            if known is not None:
                self._drop(pid)
            create_time = stat.create_time(self._boot_time)
            pct = lifetime_cpu_percent(cpu_s, create_time, time.time())
            known = _Known(
                start_ticks=stat.start_ticks,
                argv=procfs.read_cmdline(pid),
                username=self._username(pid),
                create_time=create_time,
                cpu_s=cpu_s,
                at=at,
                seen=at,
                files=files,
            )
            self._known[pid] = known
        else:
            pct = cpu_percent(known.cpu_s, known.at, cpu_s, at)
            known.cpu_s, known.at, known.seen = cpu_s, at, at
        vms_bytes, rss_bytes = memory
        return ProcessSample(
            pid=pid,
            rss_bytes=rss_bytes,
            vms_bytes=vms_bytes,
            mem_percent=rss_bytes / self._mem_total * 100,
            cpu_seconds=cpu_s,
            cpu_percent=pct,
            username=known.username,
            nice=stat.nice,
            create_time=known.create_time,
            argv=known.argv,
        )

    def _username(self, pid: int) -> str | None:
        uid = procfs.read_uid(pid)
        if uid is None:
            return None
        name = self._usernames.get(uid)
        if name is None:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)  # as psutil does for a uid with no passwd entry
            self._usernames[uid] = name
        return name

    def _prune(self, now: float) -> None:
        for pid in [p for p, v in self._known.items() if now - v.seen > FORGET_AFTER_S]:
            self._drop(pid)
        self._pruned_at = now


def _with_children(sample: ProcessSample, children: tuple[ProcessSample, ...]) -> ProcessSample:
    return replace(sample, children=children) if children else sample
