"""A fleet command's results as text: a NODE column, failed nodes shown as such, the exit code."""

from __future__ import annotations

import json

from circus_web_stack.cli.exit_codes import EXIT_ERROR_REPLY, EXIT_OK, EXIT_UNREACHABLE
from circus_web_stack.cli.fleet_render import fleet_exit_code, problem_lines, render_fleet, render_fleet_json
from circus_web_stack.client.fleet_results import NodeResult, NodeState, aggregate

OK_A = NodeResult("a", NodeState.OK, {"status": "ok", "statuses": {"web": "active", "db": "stopped"}})
OK_B = NodeResult("b", NodeState.OK, {"status": "ok", "statuses": {"web": "active"}})
DOWN = NodeResult("c", NodeState.DOWN, reason="could not connect to tcp://[fd00::4]:5555 within 5s")
SLOW = NodeResult("d", NodeState.SLOW, reason="connected but no reply")
ERROR = NodeResult(
    "e", NodeState.ERROR, {"status": "error", "reason": "program x not found"}, "program x not found"
)


def test_status_is_one_table_with_every_node():
    assert render_fleet("status", {"a": OK_A, "b": OK_B, "c": DOWN}).splitlines() == [
        "NODE  WATCHER  STATUS",
        "a     db       stopped",
        "a     web      active",
        "b     web      active",
        "c              DOWN",
    ]


def test_list_stats_and_listsockets_have_a_node_column():
    lists = {"a": NodeResult("a", NodeState.OK, {"status": "ok", "watchers": ["db", "web"]}), "d": SLOW}
    assert render_fleet("list", lists).splitlines() == ["NODE  WATCHERS", "a     db,web", "d     SLOW"]
    sockets = {
        "a": NodeResult(
            "a",
            NodeState.OK,
            {"sockets": [{"fd": 6, "name": "web", "host": "fd00::2", "port": 80, "backlog": 10}]},
        )
    }
    assert render_fleet("listsockets", sockets).splitlines() == [
        "NODE  FD  NAME  ADDRESS     BACKLOG",
        "a      6  web   fd00::2:80       10",
    ]
    stats = {"a": NodeResult("a", NodeState.OK, {"name": "web", "info": {"12": {"pid": 12, "cpu": 1.5}}})}
    assert render_fleet("stats", stats).splitlines() == [
        "NODE  WATCHER  PID  WID  CPU%  MEM%  RSS  VMS  AGE  CPU TIME  CMD",
        "a     web       12        1.5   N/A  N/A  N/A  N/A       N/A",
    ]


def test_other_commands_print_each_node_result():
    incr = {"a": NodeResult("a", NodeState.OK, {"status": "ok", "numprocesses": 3}), "e": ERROR}
    assert render_fleet("incr", incr).splitlines() == [
        "NODE  RESULT",
        "a     3",
        "e     error: program x not found",
    ]


def test_json_keys_by_node_and_failed_nodes_say_their_state():
    data = json.loads(render_fleet_json({"a": OK_B, "c": DOWN}))
    assert data["nodes"]["a"]["statuses"] == {"web": "active"}
    assert data["nodes"]["c"] == {"status": "error", "reason": DOWN.reason, "node_state": "down"}


def test_problems_and_exit_codes():
    assert problem_lines({"a": OK_A, "c": DOWN, "e": ERROR}) == [
        f"node c down: {DOWN.reason}",
        "node e error: program x not found",
    ]
    assert fleet_exit_code({"a": OK_A, "b": OK_B}) == EXIT_OK
    assert fleet_exit_code({"a": OK_A, "e": ERROR}) == EXIT_ERROR_REPLY
    assert fleet_exit_code({"e": ERROR, "d": SLOW}) == EXIT_UNREACHABLE


def test_aggregate_keys_by_node_and_leaves_failed_nodes_out():
    assert aggregate("status", {"a": OK_A, "b": OK_B, "c": DOWN}) == {
        "a": {"web": "active", "db": "stopped"},
        "b": {"web": "active"},
    }
