"""The backend table: known backends load, dead ones get a reason, unknown ones the list of choices."""

from __future__ import annotations

import pytest

from chaussette_compat.backends import BACKENDS, BackendError, load_backend
from chaussette_compat.backends.gevent_server import reaper_tick_s


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_listed_backend_loads_with_prepare_and_serve(name):
    backend = load_backend(name)
    assert callable(backend.prepare) and callable(backend.serve)


def test_dead_backend_gets_its_reason_and_the_choices():
    with pytest.raises(
        BackendError, match=r"--backend meinheld: not available .*unmaintained.*gevent, waitress, wsgiref"
    ):
        load_backend("meinheld")


def test_unknown_backend_gets_the_choices():
    with pytest.raises(
        BackendError, match=r"--backend foo: unknown backend; choose one of: gevent, waitress, wsgiref"
    ):
        load_backend("foo")


def test_reaper_tick_is_a_quarter_of_the_shortest_timeout_within_bounds():
    assert reaper_tick_s(0.3, 5, 30) == pytest.approx(0.075)
    assert reaper_tick_s(10, 5, 30) == 1.0
    assert reaper_tick_s(0.001, 5, 30) == 0.01
