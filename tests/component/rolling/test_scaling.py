"""incr/decr under load: a new process serves as soon as it is ready; removed ones drain; nothing fails."""

from __future__ import annotations

import re
import time

import pytest

from circus_web_stack.testing.waiting import wait_until
from tests.component.rolling.test_rolling_reload import APP, Load, get, ini, port_of


@pytest.mark.slow
def test_incr_serves_within_a_second_of_ready_and_decr_fails_nothing(circusd, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    d = circusd(ini(tmp_path, numprocesses=1, extra="scale_down = newest"))
    port = port_of(d)
    wait_until(lambda: get(port)[0] == 200, 15, "the app to serve")
    with Load(port, clients=6) as load:
        wait_until(lambda: load.ok > 30, 10, "load to flow")
        for _ in range(3):
            before = set(d.call("list", name="web")["pids"])
            assert d.call("incr", name="web", waiting=True)["status"] == "ok"
            (new_pid,) = set(d.call("list", name="web")["pids"]) - before
            # With waiting, the reply comes once the new process is ready.
            assert re.search(rf"web#\d pid={new_pid} ready after", d.log())
            t_ready = time.monotonic()

            def served_by(pid: int) -> bool:
                return re.search(rf"pid {pid}\b", get(port)[1]) is not None

            wait_until(lambda pid=new_pid: served_by(pid), 5, f"a response from the new process {new_pid}")
            assert time.monotonic() - t_ready < 1.5
            assert d.call("decr", name="web", waiting=True)["status"] == "ok"
            # With waiting, the reply comes once the removed process (the newest) is gone.
            assert new_pid not in d.call("list", name="web")["pids"]
        assert load.failures == [], load.failures[:10]
