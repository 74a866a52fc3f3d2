"""The rolling reload's next step, as a pure function of counts.

Zero unavailability: an old process is told to stop only when a new, ready process takes its place,
and at most `max_surge` processes above numprocesses exist at any moment (old draining ones aside:
they no longer accept). A failure (a new process that exits or misses ready_timeout) is the runtime's
to detect; the plan for it is always the same: stop the new generation, keep the old.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RollingStep:
    spawn: int  # new processes to start now
    stop_old: int  # old processes to stop now (their replacements are ready)
    done: bool  # every old process has been told to stop and numprocesses new ones are ready


def plan_rolling_step(
    *, old: int, new_starting: int, new_ready: int, target: int, max_surge: int
) -> RollingStep:
    """`old`: old processes still serving (not yet told to stop). `new_*`: the new generation."""
    surge = max(1, max_surge)
    new_total = new_starting + new_ready
    # Each ready new process beyond the target's share retires one old process.
    stop_old = min(old, max(0, old + new_ready - target))
    old_after = old - stop_old
    room = target + surge - (old_after + new_total)
    needed = target - new_total
    spawn = max(0, min(room, needed))
    done = old_after == 0 and new_ready >= target and spawn == 0
    return RollingStep(spawn=spawn, stop_old=stop_old, done=done)


def plan_sequential_step(
    *, old: int, old_draining: int, new_starting: int, new_ready: int, target: int
) -> RollingStep:
    """Circus's `reload --sequential`: one process at a time, stopped first and gone before its
    successor starts (a dip of one process, no surge)."""
    if new_starting or old_draining:
        return RollingStep(spawn=0, stop_old=0, done=False)
    if old + new_ready < target:
        return RollingStep(spawn=1, stop_old=0, done=False)
    if old:
        return RollingStep(spawn=0, stop_old=1, done=False)
    return RollingStep(spawn=0, stop_old=0, done=True)
