"""A rolling deploy across hosts: `reload WATCHER` node by node, N at a time. Each node's reload is
readiness-gated by its daemon (the reply comes once the new processes are ready, or the daemon rolled
back); then the node's health check URL, if it has one, must answer 2xx before the next batch starts.

Rule: the order and the stop are fleet_plan's decisions; this module only runs them and says what
happens as it happens (`on_progress`, one line per step). A failure stops the rollout: nodes of later
batches are never sent anything.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from circus_web_stack.client.daemon import WAITING_TIMEOUT_S
from circus_web_stack.client.fleet import FleetClient
from circus_web_stack.client.fleet_file import Node
from circus_web_stack.client.fleet_plan import (
    BatchSize,
    Outcome,
    RolloutReport,
    next_batch,
    plan_batches,
    rollout_report,
)
from circus_web_stack.client.fleet_results import NodeResult

HEALTH_RETRY_S = 0.2
HEALTH_REQUEST_TIMEOUT_S = 2.0


def wait_healthy(url: str, timeout_s: float) -> str | None:
    """None once `url` answers 2xx; else, after `timeout_s`, why not (the last answer or error)."""
    deadline = time.monotonic() + timeout_s
    problem = "no answer"
    while True:
        remaining = deadline - time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=max(0.1, min(HEALTH_REQUEST_TIMEOUT_S, remaining))) as r:
                if 200 <= r.status < 300:
                    return None
                problem = f"HTTP {r.status}"
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError) as exc:
            problem = str(getattr(exc, "reason", exc))
        if time.monotonic() + HEALTH_RETRY_S >= deadline:
            return f"health check {url} did not pass within {timeout_s:g}s: {problem}"
        time.sleep(HEALTH_RETRY_S)


def roll_out(
    client: FleetClient,
    nodes: Sequence[Node],
    watcher: str,
    size: BatchSize,
    *,
    timeout: float = WAITING_TIMEOUT_S,
    on_progress: Callable[[str], None] = lambda line: None,
) -> RolloutReport:
    """Reload `watcher` on `nodes` in batches of `size`; the report says which nodes reloaded, which
    failed and why, and which were not touched."""
    by_name = {n.name: n for n in nodes}
    batches = plan_batches([n.name for n in nodes], size)
    outcomes: dict[str, Outcome] = {}
    on_progress(f"reload {watcher}: {len(nodes)} node(s), {len(batches)} batch(es) of {size}")
    while (batch := next_batch(batches, outcomes)) is not None:
        number = next(i for i, b in enumerate(batches, 1) if batch[0] in b)
        on_progress(f"batch {number}/{len(batches)}: reloading {watcher} on {', '.join(batch)}")

        def heard(result: NodeResult) -> None:
            if result.ok:
                on_progress(f"  {result.node}: reloaded ({result.elapsed_s:.1f}s)")
            else:
                on_progress(f"  {result.node}: FAILED ({result.state}): {result.reason}")

        results = client.call(
            "reload",
            {"name": watcher, "waiting": True},
            nodes=[by_name[n] for n in batch],
            timeout=timeout,
            on_result=heard,
        )
        reloaded = [n for n in batch if results[n].ok]
        for name in batch:
            if not results[name].ok:
                outcomes[name] = Outcome(name, False, f"{results[name].state}: {results[name].reason}")
        checked = [by_name[n] for n in reloaded if by_name[n].health_url]
        problems: dict[str, str | None] = {}
        if checked:
            for node in checked:
                on_progress(f"  {node.name}: waiting for {node.health_url}")
            with ThreadPoolExecutor(len(checked)) as pool:
                found = pool.map(lambda n: wait_healthy(str(n.health_url), n.health_timeout_s), checked)
                problems = dict(zip((n.name for n in checked), found, strict=True))
        for name in reloaded:
            problem = problems.get(name)
            if name in problems:
                on_progress(f"  {name}: " + ("healthy" if problem is None else f"FAILED: {problem}"))
            outcomes[name] = Outcome(name, problem is None, problem or "")
    report = rollout_report(batches, outcomes)
    on_progress(report.summary(watcher))
    return report
