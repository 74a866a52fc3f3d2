"""The stats stream's socket payloads and watcher totals beside Circus's fields."""

from __future__ import annotations

from circus_web_stack.protocol import stats
from circus_web_stack.protocol.stats import NOT_AVAILABLE, ListenerFigures


def test_socket_payload_keeps_circus_fields_and_adds_the_kernels():
    figures = ListenerFigures(queue=2, backlog=128, dropped=1, connections=3, accepted=40, accepted_last=5)
    payload = stats.socket_stat_payload(
        6, "127.0.0.1:8000", stats.reads_of(figures), name="web", figures=figures
    )
    assert payload == {
        "fd": 6,
        "subtopic": 6,
        "reads": 5,
        "address": "127.0.0.1:8000",
        "name": "web",
        "queue": 2,
        "backlog": 128,
        "dropped": 1,
        "connections": 3,
        "accepted": 40,
    }
    circus_fields = {f.name for f in stats.SOCKET_STAT_FIELDS if f.in_circus}
    assert circus_fields <= set(payload)
    assert set(payload) - {"subtopic"} == {f.name for f in stats.SOCKET_STAT_FIELDS}


def test_unix_listener_figures_the_kernel_lacks_are_na():
    payload = stats.socket_stat_payload(7, "/run/app.sock", 0, figures=ListenerFigures(queue=0, backlog=64))
    assert payload["accepted"] == payload["connections"] == payload["dropped"] == NOT_AVAILABLE
    assert stats.reads_of(ListenerFigures()) == 0


def test_sockets_aggregate_sums_and_propagates_na():
    tcp = stats.socket_stat_payload(
        6, "a", 5, figures=ListenerFigures(queue=1, backlog=8, dropped=0, connections=2, accepted=9)
    )
    tcp2 = stats.socket_stat_payload(
        8, "c", 1, figures=ListenerFigures(queue=2, backlog=8, dropped=3, connections=0, accepted=1)
    )
    unix = stats.socket_stat_payload(7, "b", 0, figures=ListenerFigures(queue=4, backlog=8))
    assert stats.sockets_aggregate([tcp, tcp2]) == {
        "addresses": ["a", "c"],
        "reads": 6,
        "queue": 3,
        "dropped": 3,
        "connections": 2,
        "accepted": 10,
    }
    mixed = stats.sockets_aggregate([tcp, unix])
    assert mixed["queue"] == 5 and mixed["accepted"] == NOT_AVAILABLE
    plain = stats.socket_stat_payload(9, "d", 0)  # a payload without our figures (Circus's shape)
    assert stats.sockets_aggregate([tcp, plain])["queue"] == NOT_AVAILABLE
    assert stats.sockets_aggregate([]) == {"addresses": [], "reads": 0}


def test_watcher_totals_sum_cpu():
    infos = [{"cpu": 97.5}, {"cpu": 12.25}, {"cpu": 0.0}]
    assert stats.aggregate_totals(infos) == {"cpu_total": 109.8, "processes": 3}
    assert stats.aggregate_totals([{"cpu": NOT_AVAILABLE}])["cpu_total"] == NOT_AVAILABLE
    assert stats.aggregate_totals([]) == {"cpu_total": 0.0, "processes": 0}
