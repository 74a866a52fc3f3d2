"""`[circus] overlay`: run-time changes written beside the config and kept by a restart (circus#937),
with a real circusd: automatically (auto), on `saveoverlay` (manual), and refused when off."""

from __future__ import annotations

import json

from circus_web_stack.testing.waiting import wait_until

INI = """
[circus]
overlay = {mode}
[watcher:keep]
cmd = sleep 100
numprocesses = 1
[watcher:drop]
cmd = sleep 100
"""


def test_auto_keeps_added_removed_and_scaled_watchers_across_a_restart(circusd, tmp_path):
    workdir = tmp_path / "node"
    workdir.mkdir()
    daemon = circusd(INI.format(mode="auto"), workdir=workdir)
    with daemon.client() as client:
        assert client.call("incr", name="keep", nb=2, waiting=True)["numprocesses"] == 3
        assert (
            client.call("add", name="late", cmd="sleep 100", options={"numprocesses": 2}, start=True)[
                "status"
            ]
            == "ok"
        )
        assert client.call("rm", name="drop", waiting=True)["status"] == "ok"
    overlay_file = daemon.ini_path.with_name("circus.ini.overlay")

    def written() -> dict | None:
        try:
            data = json.loads(overlay_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if data["removed"] == ["drop"] and "late" in data["added"] else None

    data = wait_until(written, 10, "the overlay with every change")
    assert data["numprocesses"] == {"keep": 3}
    assert data["added"]["late"]["numprocesses"] == 2
    assert daemon.close() == []
    again = circusd(INI.format(mode="auto"), workdir=workdir)
    with again.client() as client:
        wait_until(lambda: client.call("list")["watchers"] == ["keep", "late"], 10, "the kept watcher set")
        assert client.call("numprocesses", name="keep")["numprocesses"] == 3
        assert client.call("numprocesses", name="late")["numprocesses"] == 2
        # Back to the file's state: the overlay goes away.
        client.call("decr", name="keep", nb=2, waiting=True)
        client.call("rm", name="late", waiting=True)
        client.call("add", name="drop", cmd="sleep 100")
    wait_until(lambda: not overlay_file.exists(), 10, "the overlay removed once nothing differs")


def test_manual_writes_only_at_saveoverlay_and_off_refuses_it(circusd, tmp_path):
    manual = circusd(INI.format(mode="manual"))
    overlay_file = manual.ini_path.with_name("circus.ini.overlay")
    with manual.client() as client:
        client.call("incr", name="keep", waiting=True)
        assert not overlay_file.exists()
        reply = client.call("saveoverlay")
    assert reply["status"] == "ok", reply
    assert reply["overlay"] == {
        "path": str(overlay_file),
        "numprocesses": {"keep": 2},
        "added": [],
        "removed": [],
    }
    assert json.loads(overlay_file.read_text())["numprocesses"] == {"keep": 2}
    off = circusd(INI.format(mode="off"))
    refused = off.call("saveoverlay")
    assert refused["status"] == "error"
    assert "[circus] overlay is off" in refused["reason"]
