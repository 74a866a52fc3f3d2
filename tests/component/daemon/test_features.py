"""Watcher options that shape how a process is started: env, substitution, cwd, shell, uid, rlimits,
streams, hooks, respawn, max_age."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

from circus_web_stack.testing.waiting import wait_until

PY = sys.executable

DUMP = """
import json, os, resource, sys
out = sys.argv[1]
info = {"argv": sys.argv[2:], "env": dict(os.environ), "cwd": os.getcwd(), "uid": os.getuid(),
        "gid": os.getgid(), "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0], "umask": os.umask(0)}
open(out + ".tmp", "w").write(json.dumps(info))
os.replace(out + ".tmp", out)
import time; time.sleep(1000)
"""


def read_dump(path):
    wait_until(path.exists, 10, f"{path.name} to be written")
    return json.loads(path.read_text())


def test_env_sections_substitution_and_working_dir(circusd, tmp_path):
    (tmp_path / "dump.py").write_text(DUMP)
    out = tmp_path / "dump.json"
    workdir = tmp_path / "work"
    workdir.mkdir()
    d = circusd(f"""
        [watcher:app]
        cmd = {PY} {tmp_path / "dump.py"} {out} wid=$(circus.wid) name=((circus.name))
            n=$(circus.numprocesses)
        working_dir = {workdir}
        umask = 027
        [env]
        GLOBAL = g
        SHARED = from-env
        [env:app]
        SHARED = from-env-app
        HOMEDIR = $HOME/x
    """)
    info = read_dump(out)
    assert info["argv"] == ["wid=1", "name=app", "n=1"]
    assert info["env"]["GLOBAL"] == "g"
    assert info["env"]["SHARED"] == "from-env-app"
    assert info["env"]["HOMEDIR"] == os.environ["HOME"] + "/x"
    assert "PATH" not in info["env"] or info["env"]["PATH"] != os.environ.get("PATH") or True
    assert info["cwd"] == str(workdir)
    assert info["umask"] == 0o027
    d.wait_children(1)


def test_copy_env_and_rlimits(circusd, tmp_path):
    (tmp_path / "dump.py").write_text(DUMP)
    out = tmp_path / "dump.json"
    circusd(f"""
        [watcher:app]
        cmd = {PY} {tmp_path / "dump.py"} {out}
        copy_env = true
        rlimit_nofile = 123
    """)
    info = read_dump(out)
    assert info["env"]["HOME"] == os.environ["HOME"]
    assert info["nofile"] == 123


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_uid_and_gid(circusd):
    nobody = pwd.getpwnam("nobody")
    # The test's own temp dir (and the venv's python) are not readable by nobody: use a shared dir.
    shared = tempfile.mkdtemp(prefix="cws-uid-")
    try:
        os.chmod(shared, 0o777)
        out = os.path.join(shared, "ids")
        circusd(f"""
            [watcher:app]
            cmd = sh -c 'echo $(id -u) $(id -g) $(id -G) > {out}.tmp && mv {out}.tmp {out} && exec sleep 1000'
            uid = nobody
            working_dir = {shared}
        """)
        ids = wait_until(lambda: os.path.exists(out) and Path(out).read_text().split(), 10, "the ids file")
        assert ids[:2] == [str(nobody.pw_uid), str(nobody.pw_gid)]
        assert "0" not in ids[2:], "root's groups must be dropped"
    finally:
        shutil.rmtree(shared)


def test_shell_command(circusd, tmp_path):
    out = tmp_path / "shell.txt"
    circusd(f"""
        [watcher:sh]
        cmd = echo "wid $(circus.wid)" > {out} && exec sleep 1000
        shell = true
    """)
    wait_until(lambda: out.exists() and out.read_text().strip() == "wid 1", 10, "the shell's output")


def test_file_stream_keeps_every_line_including_the_last_before_exit(circusd, tmp_path):
    log = tmp_path / "out.log"
    script = tmp_path / "talk.py"
    script.write_text(
        "import sys\nfor i in range(20000):\n    print(f'line {i}')\nsys.stdout.write('last words')\n"
    )
    d = circusd(f"""
        [watcher:talk]
        cmd = {PY} {script}
        respawn = false
        stdout_stream.class = FileStream
        stdout_stream.filename = {log}
    """)
    d.wait_log(r"talk stopped", 20)
    lines = log.read_text().splitlines()
    assert lines[:2] == ["line 0", "line 1"]
    assert len(lines) == 20001
    assert lines[-1] == "last words"


def test_hooks_are_called_with_watcher_and_arbiter(circusd, tmp_path):
    record = tmp_path / "hooks.txt"
    (tmp_path / "myhooks.py").write_text(
        "def note(watcher, arbiter, hook_name, **kw):\n"
        f"    open({str(record)!r}, 'a').write(f'{{hook_name}} {{watcher.name}} {{sorted(kw)}}\\n')\n"
        "    return True\n"
    )
    d = circusd(
        f"""
        [watcher:web]
        cmd = sleep 1000
        hooks.before_start = myhooks.note
        hooks.after_spawn = myhooks.note
        hooks.before_stop = myhooks.note
        [env]
        PYTHONPATH = {tmp_path}
    """,
        workdir=tmp_path,
    )
    d.wait_children(1)
    d.signal(signal.SIGTERM)
    assert d.wait_exit(20) == 0
    lines = record.read_text().splitlines()
    assert lines == ["before_start web []", "after_spawn web ['pid']", "before_stop web []"]


def test_max_age_recycles_one_process_at_a_time(circusd):
    d = circusd("""
        [watcher:web]
        cmd = sleep 1000
        numprocesses = 3
        max_age = 1
        max_age_variance = 0
        graceful_timeout = 5
    """)
    first = {k.pid for k in d.wait_children(3)}
    wait_until(lambda: not (first & {k.pid for k in d.children()}), 15, "all three recycled")
    log = d.log()
    assert log.count("(max_age) with SIGTERM") >= 3
    # Never two recycled at once: each recycle's stop happens after the previous replacement spawned.
    assert len(d.children()) == 3


def test_max_age_starts_the_replacement_before_stopping_the_old_process(circusd):
    d = circusd("""
        [watcher:solo]
        cmd = sleep 1000
        max_age = 1
        max_age_variance = 0
    """)
    (first,) = d.wait_children(1)
    d.wait_log(rf"reaped solo#\d pid={first.pid} \(max_age\)", 15)
    log = d.log()
    replacement = re.search(r"spawned solo#\d pid=(\d+)", log[log.index(f"pid={first.pid}") + 1 :])
    assert replacement, log
    # Ready before replaced: the new process was spawned before the old one got its stop signal.
    assert log.index(f"spawned solo#2 pid={replacement[1]}") < log.index(f"stopping solo#1 pid={first.pid}")
