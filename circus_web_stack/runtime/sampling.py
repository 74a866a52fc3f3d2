"""Reads processes with psutil into protocol.stats.ProcessSample values, off the daemon's hub.

psutil reads /proc with blocking syscalls; sampling a thousand processes on the hub would stall every
command for that long (Circus: 19 s for `stats` at 1,000 processes). So a batch runs in gevent's
threadpool and the hub stays free. CPU% is computed over the interval since the previous sample of the
same process (the first reading is its lifetime average); the cache forgets processes that are gone.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

import gevent
import psutil

from circus_web_stack.protocol.stats import ProcessSample, cpu_percent, lifetime_cpu_percent


class Sampler:
    def __init__(self) -> None:
        # (pid, create_time) -> (cpu_seconds, at): a reused pid has another create_time, so never mixes.
        self._last: dict[tuple[int, float], tuple[float, float]] = {}

    def sample_one(self, pid: int, *, with_children: bool = True) -> ProcessSample:
        """Blocking; call from a thread (see `sample_many`)."""
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                create_time = proc.create_time()
                times = proc.cpu_times()
                cpu_s = times.user + times.system
                mem = proc.memory_info()
                now = time.time()
                key = (pid, create_time)
                prev = self._last.get(key)
                self._last[key] = (cpu_s, now)
                pct = (
                    cpu_percent(prev[0], prev[1], cpu_s, now)
                    if prev
                    else lifetime_cpu_percent(cpu_s, create_time, now)
                )
                username = nice = argv = None
                with contextlib.suppress(psutil.Error):
                    username = proc.username()
                with contextlib.suppress(psutil.Error):
                    nice = proc.nice()
                with contextlib.suppress(psutil.Error):
                    argv = tuple(proc.cmdline())
                children: tuple[ProcessSample, ...] = ()
                if with_children:
                    with contextlib.suppress(psutil.Error):
                        children = tuple(
                            self.sample_one(c.pid, with_children=False) for c in proc.children(recursive=True)
                        )
                return ProcessSample(
                    pid=pid,
                    rss_bytes=mem.rss,
                    vms_bytes=mem.vms,
                    mem_percent=mem.rss / psutil.virtual_memory().total * 100,
                    cpu_seconds=cpu_s,
                    cpu_percent=pct,
                    username=username,
                    nice=nice,
                    create_time=create_time,
                    argv=argv,
                    children=children,
                )
        except psutil.Error:
            return ProcessSample(pid=pid)

    def sample_many(self, pids: Iterable[int], *, with_children: bool = True) -> dict[int, ProcessSample]:
        """Sample in gevent's threadpool so the hub keeps answering commands meanwhile."""
        pids = list(pids)

        def run() -> dict[int, ProcessSample]:
            return {pid: self.sample_one(pid, with_children=with_children) for pid in pids}

        return gevent.get_hub().threadpool.apply(run)

    def forget_except(self, live_pids: Iterable[int]) -> None:
        """Drop cached readings of processes that are gone (Circus's _PROCS cache never forgot)."""
        live = set(live_pids)
        for key in [k for k in self._last if k[0] not in live]:
            del self._last[key]
