"""The Python client of a fleet: one command to many daemons at once, over one poller, each node
with its own endpoint and CurveZMQ keys; the aggregated status, list, stats and listsockets.

Rule: every node gets the same deadline, counted once for all: a node that is down or slow costs
nothing past it, and is reported as DOWN (never connected) or SLOW (connected, no reply) with the
reason. Requests go out as soon as each node's connection is up, so the whole fan-out costs about
one round trip of the slowest node. Plain pyzmq (not for a gevent hub: the console uses one
DaemonView per node instead).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import zmq

from circus_web_stack.client.daemon import (
    DEFAULT_TIMEOUT_S,
    CallError,
    CircusClient,
    CurveKeys,
    curve_keys_from_options,
    matching_reply,
)
from circus_web_stack.client.fleet_file import Fleet, Node
from circus_web_stack.client.fleet_results import NodeResult, NodeState, Results, aggregate
from circus_web_stack.protocol.control import encode_request

ResultListener = Callable[[NodeResult], None]


def node_curve_keys(node: Node) -> CurveKeys | None:
    """The node's keys (ValueError naming the node when one cannot be read)."""
    try:
        return curve_keys_from_options(node.curve_server_key, node.curve_client_key)
    except (ValueError, OSError) as exc:
        raise ValueError(f"node {node.name}: {exc}") from None


class FleetClient:
    """Clients of a fleet's nodes, opened on first use and kept (a second command reuses the
    connections). Close it, or use it as a context manager."""

    def __init__(self, fleet: Fleet, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.fleet = fleet
        self.timeout = timeout
        self._clients: dict[str, CircusClient] = {}

    def client(self, node: Node) -> CircusClient:
        client = self._clients.get(node.name)
        if client is None:
            client = CircusClient(node.endpoint, timeout=self.timeout, curve=node_curve_keys(node))
            self._clients[node.name] = client
        return client

    def call(
        self,
        command: str,
        properties: Mapping[str, Any] | None = None,
        *,
        nodes: Iterable[Node] | None = None,
        timeout: float | None = None,
        on_result: ResultListener | None = None,
    ) -> dict[str, NodeResult]:
        """Send `command` to `nodes` (default: all) at once; each node's result, in the nodes' order.
        `on_result` hears each result as it comes (live progress)."""
        chosen = list(self.fleet.nodes if nodes is None else nodes)
        limit = self.timeout if timeout is None else timeout
        started = time.monotonic()
        deadline = started + limit
        results: dict[str, NodeResult] = {}

        def done(result: NodeResult) -> None:
            results[result.node] = result
            if on_result is not None:
                on_result(result)

        pending: dict[zmq.Socket, tuple[Node, str, bytes]] = {}
        poller = zmq.Poller()
        for node in chosen:
            try:
                client = self.client(node)
            except (ValueError, zmq.ZMQError) as exc:
                done(NodeResult(node.name, NodeState.ERROR, reason=str(exc)))
                continue
            request_id = uuid.uuid4().hex
            body = encode_request(command, dict(properties or {}), request_id=request_id)
            pending[client.socket] = (node, request_id, body)
            poller.register(client.socket, zmq.POLLOUT)
        sent: set[zmq.Socket] = set()
        while pending:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if remaining_ms == 0:
                break
            for sock, events in poller.poll(remaining_ms):
                node, request_id, body = pending[sock]
                if sock not in sent and events & zmq.POLLOUT:
                    sock.send(body, zmq.NOBLOCK)
                    sent.add(sock)
                    poller.modify(sock, zmq.POLLIN)
                elif sock in sent and events & zmq.POLLIN:
                    try:
                        reply = matching_reply(sock.recv_multipart(), request_id, node.endpoint)
                    except CallError as exc:
                        reply, failure = None, str(exc)
                    else:
                        if reply is None:
                            continue  # a late reply to an earlier command
                        failure = ""
                    poller.unregister(sock)
                    del pending[sock]
                    done(_result(node, reply, failure, time.monotonic() - started))
        for sock, (node, _, _) in pending.items():
            poller.unregister(sock)
            elapsed = time.monotonic() - started
            if sock in sent:
                reason = f"connected to {node.endpoint} but no reply to {command} within {limit:g}s"
                done(NodeResult(node.name, NodeState.SLOW, reason=reason, elapsed_s=elapsed))
            else:
                reason = f"could not connect to {node.endpoint} within {limit:g}s (down, or CURVE refused)"
                done(NodeResult(node.name, NodeState.DOWN, reason=reason, elapsed_s=elapsed))
            # The socket may still hold the request or get its late reply: start afresh next time.
            self._clients.pop(node.name).close()
        return {node.name: results[node.name] for node in chosen if node.name in results}

    # ----------------------------------------------------------------- the aggregated commands

    def status(self, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """{node: {watcher: state}} (one watcher: {node: state}) for the nodes that answered."""
        return aggregate("status", self.call("status", _named(name), **kwargs))

    def list(self, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return aggregate("list", self.call("list", _named(name), **kwargs))

    def stats(self, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return aggregate("stats", self.call("stats", _named(name), **kwargs))

    def listsockets(self, **kwargs: Any) -> dict[str, Any]:
        return aggregate("listsockets", self.call("listsockets", **kwargs))

    def endpoints(self, nodes: Iterable[Node] | None = None) -> dict[str, dict[str, str | None]]:
        """Each node's pubsub and stats endpoints: the fleet file's, else what the daemon reports
        (`globaloptions`); a node that does not answer is left out."""
        chosen = list(self.fleet.nodes if nodes is None else nodes)
        asking = [n for n in chosen if n.pubsub_endpoint is None or n.stats_endpoint is None]
        answers: Results = self.call("globaloptions", nodes=asking) if asking else {}
        found: dict[str, dict[str, str | None]] = {}
        for node in chosen:
            options = {}
            if node.name in answers:
                if not answers[node.name].ok:
                    continue
                options = (answers[node.name].reply or {}).get("options", {})
            found[node.name] = {
                "pubsub": node.pubsub_endpoint or options.get("pubsub_endpoint"),
                "stats": node.stats_endpoint or options.get("stats_endpoint"),
            }
        return found

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> FleetClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _named(name: str | None) -> dict[str, Any]:
    return {"name": name} if name else {}


def _result(node: Node, reply: dict | None, failure: str, elapsed: float) -> NodeResult:
    if reply is None:
        return NodeResult(node.name, NodeState.ERROR, reason=failure, elapsed_s=elapsed)
    if reply.get("status") == "error":
        return NodeResult(node.name, NodeState.ERROR, reply, str(reply.get("reason", "")), elapsed)
    return NodeResult(node.name, NodeState.OK, reply, elapsed_s=elapsed)
