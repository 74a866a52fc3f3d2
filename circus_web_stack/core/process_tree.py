"""Who descends from whom, given each process's parent: pure, so the walk is tested without processes.

Rule: `children_by_parent` maps a parent pid to its children's pids, as one pass over /proc gives it
(runtime.process_tree reads it). A pid seen twice (a cycle cannot happen in a real table, but a table
read while processes come and go may look like one) is visited once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def parse_parent(stat: bytes) -> int:
    """The parent pid in the text of /proc/PID/stat: `pid (comm) state ppid ...`. comm may hold spaces
    and parentheses, so the fields are counted from the last ')'."""
    return int(stat[stat.rindex(b")") + 2 :].split(maxsplit=2)[1])


def descendants(
    children_by_parent: Mapping[int, Sequence[int]], pid: int, *, recursive: bool = True
) -> list[int]:
    """`pid`'s children, or with `recursive` its whole tree below it, parents before their children."""
    found: list[int] = []
    seen = {pid}
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        for child in children_by_parent.get(parent, ()):
            if child in seen:
                continue
            seen.add(child)
            found.append(child)
            if recursive:
                queue.append(child)
    return found
