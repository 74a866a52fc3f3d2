"""The fleet file and node selection, pure: what a file means, every mistake named with its line."""

from __future__ import annotations

import pytest

from circus_web_stack.client.fleet_file import Selection, SelectionError, parse_fleet, select_nodes
from circus_web_stack.core.errors import ConfigError

TEXT = """
[fleet]
curve_client_key = me.key_secret
health_timeout = 5

[node:web-1]
endpoint = tcp://[fd00::2]:5555
curve_server_key = web-1.key
env = prod
role = web
health_url = http://[fd00::2]:8080/health

[node:web-2]
endpoint = tcp://10.0.0.3:5555
pubsub_endpoint = tcp://10.0.0.3:5556
env = prod
role = web

[node:db-1]
endpoint = tcp://10.0.0.4:5555
tag.env = staging
role = db
"""


def test_nodes_carry_endpoints_keys_tags_and_the_fleet_defaults():
    fleet = parse_fleet(TEXT, "/etc/circus/fleet.ini")
    assert [n.name for n in fleet.nodes] == ["web-1", "web-2", "db-1"]
    web1 = fleet.node("web-1")
    assert web1.endpoint == "tcp://[fd00::2]:5555"
    assert web1.curve_server_key == "web-1.key"  # no such file: taken as written (a Z85 key)
    assert web1.curve_client_key == "me.key_secret"
    assert web1.health_url == "http://[fd00::2]:8080/health" and web1.health_timeout_s == 5.0
    assert dict(web1.tags) == {"env": "prod", "role": "web"}
    assert fleet.node("web-2").pubsub_endpoint == "tcp://10.0.0.3:5556"
    assert dict(fleet.node("db-1").tags) == {"env": "staging", "role": "db"}
    assert fleet.discovery is None


def test_key_files_are_relative_to_the_fleet_file(tmp_path):
    (tmp_path / "server.key").write_text("x")
    fleet = parse_fleet(
        "[node:a]\nendpoint = tcp://[fd00::2]:5555\ncurve_server_key = server.key\n", str(tmp_path / "f.ini")
    )
    assert fleet.node("a").curve_server_key == str(tmp_path / "server.key")


def test_discovery_is_read_from_the_fleet_section():
    fleet = parse_fleet("[fleet]\ndiscover = udp://[ff02::1:c1c5]:12027\ndiscover_interface = br0\n")
    assert fleet.nodes == ()
    assert (fleet.discovery.endpoint, fleet.discovery.interface) == ("udp://[ff02::1:c1c5]:12027", "br0")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[node:a]\nendpont = tcp://[fd00::2]:1\n", "f.ini:1 [node:a]: no endpoint"),
        (
            "[node:a]\nendpoint = tcp://h:1\nendpont = x\n",
            "f.ini:3 [node:a] endpont: unknown option (did you mean 'endpoint'?); to mean a tag, write "
            "tag.endpont",
        ),
        (
            "[node:a]\nendpoint = udp://h:1\n",
            "f.ini:2 [node:a] endpoint: 'udp://h:1' is not a ZeroMQ endpoint",
        ),
        ("[nod:a]\nendpoint = tcp://h:1\n", "f.ini:1 [nod:a]: unknown section (did you mean 'node'?)"),
        (
            "[node:a]\nendpoint = tcp://h:1\nhealth_url = h:80\n",
            "health_url: 'h:80' is not an http:// or https:// URL",
        ),
        ("[fleet]\nendpoint = tcp://h:1\n[node:a]\nendpoint = tcp://h:1\n", "each node has its own endpoint"),
        ("[fleet]\ndiscover_timeout = 2\n[node:a]\nendpoint = tcp://h:1\n", "has no effect without discover"),
        (
            "[node:a]\nendpoint = tcp://h:1\n[node:a]\nendpoint = tcp://h:2\n",
            "f.ini:4 [node:a] endpoint: duplicate",
        ),
        ("", "the fleet is empty"),
    ],
)
def test_mistakes_name_file_line_section_and_key(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_fleet(text, "f.ini")
    assert message in str(caught.value)


FLEET = parse_fleet(TEXT, "f.ini")


@pytest.mark.parametrize(
    ("selection", "chosen"),
    [
        (Selection(every=True), ["web-1", "web-2", "db-1"]),
        (Selection(names=("web-2",)), ["web-2"]),
        (Selection(names=("db-1,web-1",)), ["web-1", "db-1"]),
        (Selection(names=("web-*",)), ["web-1", "web-2"]),
        (Selection(tags=("role=web",)), ["web-1", "web-2"]),
        (Selection(tags=("env=prod", "role=w*")), ["web-1", "web-2"]),
        (Selection(names=("web-*",), tags=("env=staging",)), None),
    ],
)
def test_selection(selection, chosen):
    if chosen is None:
        with pytest.raises(SelectionError, match="no node has env=staging"):
            select_nodes(FLEET, selection)
    else:
        assert [n.name for n in select_nodes(FLEET, selection)] == chosen


def test_a_mistyped_node_gets_a_suggestion_and_no_selector_is_refused():
    with pytest.raises(SelectionError, match=r"no node 'wbe-1' \(did you mean 'web-1'\?\)"):
        select_nodes(FLEET, Selection(names=("wbe-1",)))
    with pytest.raises(SelectionError, match="--all"):
        select_nodes(FLEET, Selection())
    with pytest.raises(SelectionError, match="--tag expects KEY=VALUE"):
        select_nodes(FLEET, Selection(tags=("prod",)))
