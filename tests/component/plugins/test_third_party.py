"""A plugin written against Circus's API, by a third party (a module outside this package, next to the
config), runs with only its import changed; the configured check_delay and its config (as text, as
Circus passes it) reach it; a crash is respawned like any watcher and the daemon carries on; a bad
`use` is refused before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys

from circus_web_stack.testing.waiting import wait_until

PY = sys.executable
SLEEP = f"{PY} -c 'import time; time.sleep(1000)'"

# Written as for Circus 0.19; only the import differs (circus.plugins -> circus_web_stack.plugins).
THIRD_PARTY = """
import json, os
from circus_web_stack.plugins import CircusPlugin


class Recorder(CircusPlugin):
    name = "recorder"

    def __init__(self, endpoint, pubsub_endpoint, check_delay, ssh_server=None, **config):
        super().__init__(endpoint, pubsub_endpoint, check_delay, ssh_server=ssh_server, **config)
        self.out = config["out"]

    def handle_init(self):
        listed = self.call("list")
        with open(self.out + ".tmp", "w") as f:
            json.dump({"check_delay": self.check_delay, "config": self.config,
                       "watchers": listed["watchers"], "active": self.active}, f)
        os.replace(self.out + ".tmp", self.out + ".init")
        self.cast("incr", name="web")

    def handle_recv(self, data):
        watcher, action, msg = self.split_data(data)
        if watcher == "boom" and action == "start":
            os._exit(7)  # a crash: no handle_stop, no clean exit
        payload = self.load_message(msg)
        with open(self.out, "a") as f:
            f.write(json.dumps([watcher, action, payload.get("process_pid")]) + "\\n")

    def handle_stop(self):
        with open(self.out + ".stopped", "w") as f:
            f.write("bye")
"""


def _ini(tmp_path, extra=""):
    return f"""
        [circus]
        check_delay = 0.7
        [watcher:web]
        cmd = {SLEEP}
        [watcher:boom]
        cmd = {SLEEP}
        autostart = false
        [plugin:rec]
        use = recorder.Recorder
        out = {tmp_path / "events.jsonl"}
        threshold = 5
        {extra}
    """


def test_a_third_party_plugin_runs_with_check_delay_and_text_config(circusd, tmp_path):
    (tmp_path / "recorder.py").write_text(THIRD_PARTY)
    d = circusd(_ini(tmp_path), env={"PYTHONPATH": str(tmp_path)})
    init = tmp_path / "events.jsonl.init"
    wait_until(init.exists, 15, "the plugin's handle_init")
    seen = json.loads(init.read_text())
    assert seen["check_delay"] == 0.7  # the configured one (Circus always passed 5.0)
    assert seen["config"] == {"out": str(tmp_path / "events.jsonl"), "threshold": "5"}  # text
    assert seen["active"] is True
    assert {"web", "boom", "plugin:rec"} <= set(seen["watchers"])
    # its cast reached the daemon: web has the process it added
    wait_until(lambda: len(d.call("list", name="web")["pids"]) == 2, 10, "web to have 2 processes")
    plugin = d.call("options", name="plugin:rec")["options"]
    assert (plugin["singleton"], plugin["priority"], plugin["copy_env"]) == (True, 1, True)
    # events reach handle_recv, split and decoded
    events = tmp_path / "events.jsonl"
    wait_until(lambda: events.exists() and '"spawn"' in events.read_text(), 10, "a spawn event")
    complete = events.read_text().split("\n")[:-1]  # a line being written has no newline yet
    seen_events = [json.loads(line) for line in complete]
    spawned = [pid for watcher, action, pid in seen_events if (watcher, action) == ("web", "spawn")]
    assert spawned and set(spawned) <= set(d.call("list", name="web")["pids"])
    d.call("stop", name="plugin:rec", waiting=True)
    wait_until((tmp_path / "events.jsonl.stopped").exists, 5, "handle_stop on SIGTERM")


def test_a_crashing_plugin_is_respawned_and_the_daemon_carries_on(circusd, tmp_path):
    (tmp_path / "recorder.py").write_text(THIRD_PARTY)
    d = circusd(_ini(tmp_path), env={"PYTHONPATH": str(tmp_path)})
    wait_until((tmp_path / "events.jsonl.init").exists, 15, "the plugin's handle_init")
    (first,) = d.call("list", name="plugin:rec")["pids"]
    d.call("start", name="boom", waiting=True)
    d.wait_log(rf"exited plugin:rec#1 pid={first}: exited with code 7", 15)
    respawned = wait_until(
        lambda: [p for p in d.call("list", name="plugin:rec")["pids"] if p != first],
        15,
        "a new plugin process",
    )
    assert respawned
    assert d.call("status")["status"] == "ok"  # the daemon answers as before
    assert d.call("status", name="web")["status"] == "active"


def test_an_unimportable_use_is_refused_before_anything_starts(tmp_path):
    ini = tmp_path / "circus.ini"
    ini.write_text(
        f"[watcher:web]\ncmd = {SLEEP}\n[plugin:stats]\nuse = circus.plugins.statsd.StatsEmitter\n"
    )
    done = subprocess.run(
        [PY, "-m", "circus_web_stack.cli.circusd", str(ini)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 78, done.stderr
    assert (
        f"{ini}:4 [plugin:stats] use: 'circus.plugins.statsd.StatsEmitter' is not one of Circus's plugins "
        "(did you mean 'circus.plugins.statsd.StatsdEmitter'?)"
    ) in done.stderr
    assert "spawned" not in done.stderr
