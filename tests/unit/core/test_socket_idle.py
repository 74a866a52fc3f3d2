"""core/socket_idle.py: which sockets stop listening or listen again, for a given set of phases."""

from __future__ import annotations

import pytest

from circus_web_stack.core.socket_idle import SocketChange, SocketFacts, WatcherFacts, plan_listening
from circus_web_stack.core.states import WatcherPhase as P


def web(phase: P, *, on_demand: bool = False, name: str = "web", sockets=("web",)) -> WatcherFacts:
    return WatcherFacts(name, phase, frozenset(sockets), on_demand)


def listening(name: str = "web", **kw: bool) -> SocketFacts:
    return SocketFacts(name, True, **kw)


def idle(name: str = "web", **kw: bool) -> SocketFacts:
    return SocketFacts(name, False, **kw)


@pytest.mark.parametrize("phase", [P.STOPPED, P.GIVEN_UP, P.REMOVED])
def test_a_socket_whose_only_watcher_rests_stops_listening(phase):
    assert plan_listening([listening()], [web(phase)]) == [
        SocketChange("web", False, f"no watcher of it is running (web {phase.value})")
    ]


@pytest.mark.parametrize("phase", [P.STARTING, P.RUNNING, P.ROLLING, P.PAUSED, P.STOPPING])
def test_any_other_phase_keeps_it_listening(phase):
    # reloads (rolling), scaling and respawns (running), flapping pauses, restarts (stopping, starting)
    assert plan_listening([listening()], [web(phase)]) == []


@pytest.mark.parametrize("phase", [P.STARTING, P.RUNNING, P.ROLLING, P.PAUSED, P.STOPPING])
def test_a_socket_not_listening_listens_again_once_a_watcher_of_it_is_not_at_rest(phase):
    assert plan_listening([idle()], [web(phase)]) == [SocketChange("web", True, f"web {phase.value}")]


def test_it_stops_listening_only_when_every_watcher_using_it_rests():
    two = [web(P.STOPPED), web(P.RUNNING, name="web2")]
    assert plan_listening([listening()], two) == []
    both_down = [web(P.STOPPED), web(P.GIVEN_UP, name="web2")]
    assert plan_listening([listening()], both_down) == [
        SocketChange("web", False, "no watcher of it is running (web stopped, web2 given up)")
    ]


def test_an_on_demand_watcher_keeps_its_socket_listening_while_stopped():
    assert plan_listening([listening()], [web(P.STOPPED, on_demand=True)]) == []
    assert plan_listening([idle()], [web(P.STOPPED, on_demand=True)]) == [
        SocketChange("web", True, "web on demand")
    ]


def test_systemd_sockets_and_datagram_sockets_are_left_as_they_are():
    assert plan_listening([listening(from_systemd=True)], [web(P.STOPPED)]) == []
    assert plan_listening([idle(from_systemd=True)], [web(P.RUNNING)]) == []
    assert plan_listening([listening(connection_oriented=False)], [web(P.STOPPED)]) == []


def test_the_opt_out_always_listens():
    assert plan_listening([listening(close_when_idle=False)], [web(P.STOPPED)]) == []
    assert plan_listening([idle(close_when_idle=False)], [web(P.STOPPED)]) == [
        SocketChange("web", True, "close_when_idle is off")
    ]


def test_a_socket_no_watcher_uses_is_left_as_it_is():
    other = web(P.STOPPED, name="api", sockets=("api",))
    assert plan_listening([listening(), idle("spare")], [other]) == []
    assert plan_listening([listening(), idle("spare")], []) == []


def test_each_socket_is_decided_on_its_own_watchers():
    watchers = [
        web(P.STOPPED, name="web1", sockets=("web1",)),
        web(P.RUNNING, name="web2", sockets=("web2",)),
        web(P.STARTING, name="both", sockets=("web3", "web4")),
    ]
    sockets = [listening("web1"), idle("web2"), idle("web3"), listening("web4")]
    assert plan_listening(sockets, watchers) == [
        SocketChange("web1", False, "no watcher of it is running (web1 stopped)"),
        SocketChange("web2", True, "web2 running"),
        SocketChange("web3", True, "both starting"),
    ]
