"""The daemon's output lines on its event socket: sent only while someone subscribes to `output.` by
name, never to a subscriber of everything alone, and whole lines in order with the right pid."""

from __future__ import annotations

import json
import sys

from circus_web_stack.client.daemon import iter_messages
from circus_web_stack.testing.harness import Daemon


def _topics(endpoint: str, prefixes: list[str], seconds: float) -> list[tuple[str, dict]]:
    found = []
    for frames in iter_messages(endpoint, prefixes, timeout=seconds):
        topic = frames[0].decode()
        if topic.startswith("output."):
            found.append((topic, json.loads(frames[1])))
    return found


def test_output_lines_go_only_to_who_asked(tmp_path):
    program = tmp_path / "talk.py"
    program.write_text(
        "import itertools, time\n"
        "for n in itertools.count(1):\n    print('line', n, flush=True)\n    time.sleep(0.05)\n"
    )
    ini = f"""
        [watcher:talker]
        cmd = {sys.executable} {program}
        stdout_stream.class = FileStream
        stdout_stream.filename = {tmp_path / "talker.log"}
    """
    with Daemon(tmp_path, ini) as daemon:
        daemon.wait_running(20)
        (pid,) = daemon.call("list", name="talker")["pids"]
        assert _topics(daemon.pubsub_endpoint, [""], 1.0) == []  # everything, but not by name
        got = _topics(daemon.pubsub_endpoint, ["output."], 2.0)
        assert got and {topic for topic, _ in got} == {"output.talker.stdout"}
        numbers = [int(line.split()[1]) for _, payload in got for line in payload["lines"]]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # whole lines, in order
        assert {payload["pid"] for _, payload in got} == {pid}
        assert "line 1\n" in (tmp_path / "talker.log").read_text()  # the stream still got everything
