"""What one command did on each node of a fleet, and the aggregated answers of `status`, `list`,
`stats` and `listsockets` (one mapping keyed by node).

Rule: pure. A node that never connected is DOWN, one that connected but did not answer in time is
SLOW, one that answered with an error reply is ERROR; each says why. Nothing here waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class NodeState(StrEnum):
    OK = "ok"
    ERROR = "error"  # the daemon answered with an error reply
    DOWN = "down"  # never connected (not running, unreachable, CURVE refused) within the timeout
    SLOW = "slow"  # connected, but no reply within the timeout


@dataclass(frozen=True)
class NodeResult:
    node: str
    state: NodeState
    reply: dict[str, Any] | None = None
    reason: str = ""
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state is NodeState.OK

    def as_json(self) -> dict[str, Any]:
        """The reply as the daemon sent it; for a node without one, Circus's error shape plus `node_state`."""
        if self.reply is not None:
            return self.reply
        return {"status": "error", "reason": self.reason, "node_state": self.state.value}


Results = Mapping[str, NodeResult]

# The reply field each aggregated command's answer lives in.
AGGREGATED = {"status": "statuses", "list": "watchers", "stats": "infos", "listsockets": "sockets"}


def failures(results: Results) -> dict[str, NodeResult]:
    return {name: r for name, r in results.items() if not r.ok}


def aggregate(command: str, results: Results) -> dict[str, Any]:
    """The successful nodes' answers by node: for `status` {node: {watcher: state}} (or {node: state}
    for one watcher), `list` {node: [watchers]} (or pids), `stats` {node: infos}, `listsockets`
    {node: [sockets]}; other commands {node: reply}."""
    merged: dict[str, Any] = {}
    for name, result in results.items():
        if not result.ok or result.reply is None:
            continue
        reply = result.reply
        if command == "status":
            merged[name] = reply.get("statuses", reply.get("status"))
        elif command == "list":
            merged[name] = reply.get("watchers", reply.get("pids"))
        elif command == "stats":
            merged[name] = reply.get("infos", {reply.get("name", ""): reply.get("info")})
        elif command == "listsockets":
            merged[name] = reply.get("sockets", [])
        else:
            merged[name] = reply
    return merged
