"""load_config: Circus ini files with includes, env sections, substitution, validation and messages."""

from __future__ import annotations

import textwrap

import pytest

from circus_web_stack.config.loader import load_config
from circus_web_stack.config.model import FlappingSpec
from circus_web_stack.config.specs import HookSpec, StreamSpec
from circus_web_stack.core.errors import ConfigError

PROTOCOL_EXAMPLE = """\
[circus]
endpoint = ipc:///run/circus/ctl.sock
pubsub_endpoint = ipc:///run/circus/pub.sock
check_delay = 1
statsd = true

[socket:web]
host = 127.0.0.1
port = 8000

[watcher:web]
cmd = chaussette --fd $(circus.sockets.web) --backend gevent myproj.wsgi:application
use_sockets = true
numprocesses = 4
graceful_timeout = 30
copy_env = true
stdout_stream.class = WatchedFileStream
stdout_stream.filename = /var/log/web.out

[env:web]
DJANGO_SETTINGS_MODULE = myproj.settings
"""


@pytest.fixture
def ini(tmp_path, monkeypatch):
    """ini(text, name='circus.ini') writes a file in the test's cwd and returns its relative path."""
    monkeypatch.chdir(tmp_path)

    def write(text: str, name: str = "circus.ini") -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return name

    return write


def load(path: str, **environ: str):
    return load_config(path, environ={"HOME": "/home/u", **environ})


def error_of(path: str, **environ: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(path, **environ)
    return str(caught.value)


def test_protocol_example_parses(ini):
    cfg = load(ini(PROTOCOL_EXAMPLE))
    assert cfg.daemon.endpoint == "ipc:///run/circus/ctl.sock"
    assert cfg.daemon.pubsub_endpoint == "ipc:///run/circus/pub.sock"
    assert cfg.daemon.check_delay == 1.0
    assert cfg.daemon.statsd is True
    assert cfg.daemon.multicast_endpoint == ""
    (sock,) = cfg.sockets
    assert (sock.name, sock.host, sock.port, sock.family, sock.backlog) == (
        "web",
        "127.0.0.1",
        8000,
        "AF_INET",
        2048,
    )
    web = cfg.watcher("web")
    assert web.cmd.startswith("chaussette --fd $(circus.sockets.web)")
    assert (web.use_sockets, web.numprocesses, web.graceful_timeout, web.copy_env) == (True, 4, 30.0, True)
    assert web.stdout_stream == StreamSpec("WatchedFileStream", {"filename": "/var/log/web.out"})
    assert web.stderr_stream is None
    assert dict(web.env) == {"DJANGO_SETTINGS_MODULE": "myproj.settings"}
    assert web.referenced_sockets() == {"web"}
    assert cfg.warnings == ()
    assert cfg.path == "circus.ini"


def test_defaults_without_a_circus_section(ini):
    cfg = load(ini("[watcher:a]\ncmd = sleep 1\n"))
    assert (
        cfg.daemon.endpoint is None
        and cfg.daemon.pubsub_endpoint is None
        and cfg.daemon.stats_endpoint is None
    )
    assert cfg.daemon.multicast_endpoint == ""
    assert cfg.daemon.check_delay == 5.0
    assert cfg.daemon.insecure is False


def test_the_two_example_messages(ini):
    path = ini("[circus]\n\n[watcher:web]\ncmd = x\nnumprocess = 4\n")
    assert (
        error_of(path)
        == "circus.ini:5 [watcher:web] numprocess: unknown option (did you mean 'numprocesses'?)"
    )
    path = ini("[watcher:web]\ncmd = x\n\nnumprocesses = four\n")
    assert error_of(path) == (
        "circus.ini:4 [watcher:web] numprocesses: 'four' is not a whole number (expected an integer >= 0)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[watchr:web]\ncmd = x\n",
            "circus.ini:1 [watchr:web]: unknown section (did you mean 'watcher:web'?)",
        ),
        (
            "[sockets:web]\nport = 1\n",
            "circus.ini:1 [sockets:web]: unknown section (did you mean 'socket:web'?)",
        ),
        ("[DEFAULT]\nx = 1\n", "circus.ini:1 [DEFAULT]: unknown section (expected [circus], [watcher:NAME]"),
        ("[watcher]\ncmd = x\n", "circus.ini:1 [watcher]: unknown section"),
        ("[watcher: ]\ncmd = x\n", "circus.ini:1 [watcher:]: [watcher:] needs a name after the colon"),
        (
            "[circus]\nendpoit = ipc:///x\n",
            "circus.ini:2 [circus] endpoit: unknown option (did you mean 'endpoint'?)",
        ),
        (
            "[circus]\nfoo = 1\n",
            "circus.ini:2 [circus] foo: unknown option (valid: endpoint, endpoint_owner,",
        ),
        (
            "[socket:web]\nportt = 80\n",
            "circus.ini:2 [socket:web] portt: unknown option (did you mean 'port'?)",
        ),
        ("[watcher:web]\nnumprocesses = 2\n", "circus.ini:1 [watcher:web] cmd: required option missing"),
        (
            "[watcher:web]\ncmd = x\nhooks.before_strat = a.b\n",
            "circus.ini:3 [watcher:web] hooks.before_strat: "
            "unknown hook 'before_strat' (did you mean 'before_start'?) "
            "(expected one of before_start, after_start,",
        ),
        (
            "[watcher:web]\ncmd = x\nrlimit_nofle = 1\n",
            "circus.ini:3 [watcher:web] rlimit_nofle: "
            "unknown resource limit 'nofle' (did you mean 'nofile'?) (expected one of as, core, cpu,",
        ),
        (
            "[watcher:web]\ncmd = x\nrlimit_bogus = 1\n",
            "circus.ini:3 [watcher:web] rlimit_bogus: unknown resource limit 'bogus' (expected one of",
        ),
        (
            "[watcher:web]\ncmd = x\nrlimit_nofile = lots\n",
            "circus.ini:3 [watcher:web] rlimit_nofile: "
            "'lots' is not a whole number (expected an integer >= 0, or unlimited)",
        ),
        (
            "[watcher:web]\ncmd = x\nstdout_stream.class = FileStrem\nstdout_stream.filename = f\n",
            "circus.ini:3 [watcher:web] stdout_stream.class: "
            "unknown stream class 'FileStrem' (did you mean 'FileStream'?)",
        ),
        (
            "[watcher:web]\ncmd = x\nstdout_stream.class = FileStream\nstdout_stream.max_bytes = 1k\n"
            "stdout_stream.filename = f\n",
            "circus.ini:4 [watcher:web] stdout_stream.max_bytes: '1k' is not a whole",
        ),
        (
            "[watcher:web]\ncmd = x\nstdout_stream.class = FileStream\n",
            "circus.ini:3 [watcher:web] stdout_stream.filename: FileStream needs a filename",
        ),
        (
            "[watcher:web]\ncmd = x\nflapping.attempt = 3\n",
            "circus.ini:3 [watcher:web] flapping.attempt: "
            "unknown flapping option 'attempt' (did you mean 'attempts'?) (expected one of attempts, window,",
        ),
        (
            "[watcher:web]\ncmd = x\nflapping.window = 0\n",
            "circus.ini:3 [watcher:web] flapping.window: '0' is out of range (expected seconds > 0)",
        ),
        (
            "[watcher:web]\ncmd = x\nhooks = a.b\n",
            "circus.ini:3 [watcher:web] hooks: set this one key at a time in the ini: hooks.<name> = ...",
        ),
        (
            "[watcher:web]\ncmd = x\nname = other\n",
            "circus.ini:3 [watcher:web] name: a watcher's name comes from",
        ),
        (
            "[watcher:web]\ncmd = x\nsingleton = true\nnumprocesses = 2\n",
            "circus.ini:4 [watcher:web] numprocesses: "
            "a singleton runs at most one process, not 2 (use 0 or 1)",
        ),
        (
            "[watcher:web]\ncmd = x\ncopy_path = true\n",
            "circus.ini:3 [watcher:web] copy_path: copy_path needs copy_env = true",
        ),
        (
            "[watcher:web]\ncmd = x\nvirtualenv = /v\n",
            "circus.ini:3 [watcher:web] virtualenv: virtualenv needs copy_env = true",
        ),
        (
            "[watcher:web]\ncmd = run --fd $(circus.sockets.web)\nuse_sockets = true\n",
            "circus.ini:2 [watcher:web] cmd: uses socket 'web', which is not defined (defined sockets: none)",
        ),
        (
            "[socket:api]\nport = 1\n[watcher:web]\ncmd = run\nargs = --fd ((circus.sockets.WEB))\n",
            "circus.ini:5 [watcher:web] args: uses socket 'web', which is not defined (defined sockets: api)",
        ),
        (
            "[watcher:web]\ncmd = run\nstdin_socket = web\n",
            "circus.ini:3 [watcher:web] stdin_socket: uses socket 'web'",
        ),
        (
            "[watcher:web]\ncmd = python -u app.py $WID\n",
            "circus.ini:2 [watcher:web] cmd: $WID was removed; write $(circus.wid)",
        ),
        (
            "[watcher:web]\ncmd = x\nuid = nosuchuser-xyz\n",
            "circus.ini:3 [watcher:web] uid: 'nosuchuser-xyz' is not a user on this system",
        ),
        (
            "[watcher:web]\ncmd = x\nuid = 4242424\n",
            "circus.ini:3 [watcher:web] uid: uid 4242424 has no entry in the "
            "user database, so its group is unknown; set gid",
        ),
        (
            "[watcher:web]\ncmd = x\ngraceful_timeout = -1\n",
            "circus.ini:3 [watcher:web] graceful_timeout: '-1' is out of range (expected seconds >= 0)",
        ),
        (
            "[watcher:web]\ncmd = x\n[watcher:WEB]\ncmd = y\n",
            "circus.ini:3 [watcher:WEB]: a second watcher named 'WEB' (watcher names are case-insensitive)",
        ),
        (
            "[plugin:x]\nuse = circus.plugins.statsd.StatsdEmitter\n[watcher:plugin:x]\ncmd = y\n",
            "circus.ini:3 [watcher:plugin:x]: a second watcher",
        ),
        (
            "[socket:web]\nport = 1\n[socket:Web]\nport = 2\n",
            "circus.ini:3 [socket:Web]: a second socket named 'web'",
        ),
        (
            "[socket:web]\npath = /run/a.sock\nfamily = AF_INET\n",
            "circus.ini:3 [socket:web] family: AF_INET conflicts with path",
        ),
        ("[socket:web]\nfamily = AF_UNIX\n", "circus.ini:2 [socket:web] family: AF_UNIX needs a path"),
        ("[plugin:flapping]\nattempts = 3\n", "circus.ini:1 [plugin:flapping] use: required option missing"),
        (
            "[plugin:flapping]\nuse = circus.plugins.flapping.Flapping\nwindow = soon\n",
            "circus.ini:3 [plugin:flapping] window: 'soon' is not a number of seconds",
        ),
        (
            "[plugin:x]\nuse = circus.plugins.statsd.StatsdEmitter\nnumprocesses = two\n",
            "circus.ini:3 [plugin:x] numprocesses: 'two' is not a whole",
        ),
        (
            "[circus]\nstatsd = false\nstats_endpoint = ipc:///s\n",
            "circus.ini:2 [circus] statsd: stats_endpoint is set but statsd = false",
        ),
        (
            "[circus]\nendpoint = tcp://0.0.0.0:5555\n",
            "circus.ini:2 [circus] endpoint: 'tcp://0.0.0.0:5555' accepts connections from other hosts",
        ),
        (
            "[circus]\npubsub_endpoint = tcp://*:5556\n",
            "circus.ini:2 [circus] pubsub_endpoint: 'tcp://*:5556' accepts",
        ),
        (
            "[circus]\nstats_endpoint = tcp://myhost:5557\n",
            "circus.ini:2 [circus] stats_endpoint: 'tcp://myhost:5557'",
        ),
    ],
)
def test_refused_with_file_line_section_option(ini, text, message):
    assert error_of(ini(text)).startswith(message)


def test_network_endpoints_allowed_with_insecure_or_curve(ini):
    assert load(ini("[circus]\nendpoint = tcp://0.0.0.0:5555\ninsecure = true\n")).daemon.insecure
    cfg = load(ini(f"[circus]\nendpoint = tcp://0.0.0.0:5555\ncurve_secret_key_file = {__file__}\n"))
    assert cfg.daemon.curve_secret_key_file == __file__
    for local in ("tcp://127.0.0.1:5555", "tcp://localhost:5555", "tcp://[::1]:5555", "tcp://127.0.0.2:1"):
        assert load(ini(f"[circus]\nendpoint = {local}\n")).daemon.endpoint == local


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(str(tmp_path / "nope.ini"))
    assert str(caught.value) == f"{tmp_path / 'nope.ini'}: configuration file not found"


def test_a_directory_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(str(tmp_path))


def test_undecodable_file_is_refused(tmp_path):
    (tmp_path / "c.ini").write_bytes(b"[watcher:a]\ncmd = \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(str(tmp_path / "c.ini"))


# ---- includes ---------------------------------------------------------------------------------------


def test_include_globs_relative_to_the_main_file_and_main_wins(ini, tmp_path, monkeypatch):
    ini(
        "[watcher:b]\ncmd = from-include\nnumprocesses = 3\n[circus]\ncheck_delay = 9\n",
        "conf/etc/conf.d/b.ini",
    )
    ini("[watcher:c]\ncmd = c\n", "conf/etc/conf.d/c.ini")
    ini("[watcher:ignored]\ncmd = c\n", "conf/etc/conf.d/c.txt")
    ini("[watcher:a]\ncmd = a\n", "conf/etc/a.ini")
    main = ini(
        "[circus]\ncheck_delay = 2\ninclude = a.ini conf.d/*.ini\n[watcher:b]\ncmd = from-main\n",
        "conf/etc/circus.ini",
    )
    monkeypatch.chdir(tmp_path / "conf")  # includes are relative to the main file, not the cwd
    cfg = load_config(str(tmp_path / main), environ={})
    assert [w.name for w in cfg.watchers] == ["a", "b", "c"]
    assert cfg.watcher("b").cmd == "from-main"
    assert cfg.watcher("b").numprocesses == 3  # keys the main file lacks come from the include
    assert cfg.daemon.check_delay == 2.0
    assert any("check_delay: ignored: already set at line 2" in w for w in cfg.warnings)


def test_include_dir(ini):
    ini("[watcher:x]\ncmd = x\n", "d1/x.ini")
    ini("[watcher:y]\ncmd = y\n", "d2/y.ini")
    ini("[watcher:z]\ncmd = z\n", "d2/z.conf")
    cfg = load(ini("[circus]\ninclude_dir = d1 d2\n"))
    assert [w.name for w in cfg.watchers] == ["x", "y"]


def test_include_that_matches_nothing_is_a_warning(ini):
    cfg = load(ini("[circus]\ninclude = missing/*.ini\n[watcher:a]\ncmd = a\n"))
    assert [w.name for w in cfg.watchers] == ["a"]
    assert cfg.warnings == (
        "circus.ini:2 [circus] include: 'missing/*.ini' matches no file (looked for missing/*.ini; "
        "relative to the main file)",
    )


def test_errors_in_an_included_file_name_that_file(ini):
    ini("[watcher:b]\ncmd = b\n\nnumprocesses = many\n", "conf.d/b.ini")
    message = error_of(ini("[circus]\ninclude = conf.d/*.ini\n"))
    assert message.startswith("conf.d/b.ini:4 [watcher:b] numprocesses: 'many' is not a whole number")


def test_includes_in_included_files_are_ignored_with_a_warning(ini):
    ini("[watcher:deep]\ncmd = d\n", "deep.ini")
    ini("[circus]\ninclude = deep.ini\n[watcher:b]\ncmd = b\n", "b.ini")
    cfg = load(ini("[circus]\ninclude = b.ini\n"))
    assert [w.name for w in cfg.watchers] == ["b"]
    assert cfg.warnings == (
        "b.ini:2 [circus] include: ignored: only the main file's include options are read",
    )


def test_a_file_included_twice_is_read_once(ini):
    ini("[watcher:b]\ncmd = b\n", "b.ini")
    cfg = load(ini("[circus]\ninclude = b.ini *.ini\n"))
    assert [w.name for w in cfg.watchers] == ["b"]
    assert cfg.warnings == ()


# ---- sections -------------------------------------------------------------------------------------


def test_sorted_lowercased_and_empty_sections_skipped(ini):
    cfg = load(
        ini(
            """\
            [watcher:zeta]
            cmd = z
            [watcher:Alpha]
            cmd = a
            [watcher:empty]
            [socket:WEB]
            port = 1
            [socket:api]
            port = 2
            [plugin:stats]
            use = tests.unit.config.plugin_fixture.Stats
            priority = 3
            interval = 10
            [env]
            """
        )
    )
    assert [w.name for w in cfg.watchers] == ["Alpha", "zeta"]
    assert [s.name for s in cfg.sockets] == ["api", "web"]
    assert cfg.socket("WEB").port == 1
    assert cfg.watcher("alpha").cmd == "a"
    (plugin,) = cfg.plugins
    assert (plugin.name, plugin.use) == ("plugin:stats", "tests.unit.config.plugin_fixture.Stats")
    assert dict(plugin.options) == {"interval": "10"}
    assert dict(plugin.watcher_options) == {"priority": "3"}
    assert plugin.watcher.priority == 3 and plugin.watcher.singleton
    assert cfg.plugin("stats") is plugin
    assert cfg.warnings == ("circus.ini:5 [watcher:empty]: empty section skipped",)


def test_unix_socket_and_octal_umask(ini):
    (sock,) = load(ini("[socket:app]\npath = /run/app.sock\numask = 022\nreplace = true\n")).sockets
    assert (sock.family, sock.path, sock.umask, sock.replace) == ("AF_UNIX", "/run/app.sock", 0o22, True)


def test_obsolete_options_load_with_a_warning(ini):
    cfg = load(ini("[circus]\nstream_backend = gevent\n[watcher:a]\ncmd = a\ncheck_flapping = false\n"))
    assert cfg.warnings == (
        "circus.ini:2 [circus] stream_backend: has no effect: the stream backend is always gevent",
        "circus.ini:5 [watcher:a] check_flapping: has no effect: flapping is configured with flapping.* keys "
        "or [plugin:flapping]",
    )
    assert cfg.watcher("a").extra == {"check_flapping": "false"}


def test_free_form_keys_are_kept_and_shown(ini):
    cfg = load(ini("[watcher:a]\ncmd = a\nmyplugin.threshold = 5\nteam = payments\n"))
    a = cfg.watcher("a")
    assert a.extra == {"myplugin.threshold": "5", "team": "payments"}
    assert a.option_values()["team"] == "payments"
    assert len(cfg.warnings) == 2 and "kept as a free-form value" in cfg.warnings[0]


def test_hooks_rlimits_streams_and_flapping(ini):
    cfg = load(
        ini(
            """\
            [plugin:flapping]
            use = circus.plugins.flapping.Flapping
            attempts = 4
            window = 2.5
            [watcher:a]
            cmd = a
            hooks.before_start = pkg.hooks.check
            hooks.after_spawn = pkg.hooks.log, true
            hooks.before_signal = pkg.hooks.drain, false
            hooks.after_stop = pkg.hooks.done
            rlimit_nofile = 4096
            rlimit_CORE = unlimited
            rlimit_nproc =
            stderr_stream.filename = /var/log/a.err
            stderr_stream.max_bytes = 1048576
            stderr_stream.backup_count = 3
            flapping.retry_in = 3
            """
        )
    )
    a = cfg.watcher("a")
    assert dict(a.hooks) == {
        "before_start": HookSpec("before_start", "pkg.hooks.check", False),
        "after_spawn": HookSpec("after_spawn", "pkg.hooks.log", True),
        "before_signal": HookSpec("before_signal", "pkg.hooks.drain", False),
        "after_stop": HookSpec("after_stop", "pkg.hooks.done", True),
    }
    assert dict(a.rlimits) == {"nofile": 4096, "core": None, "nproc": None}
    assert a.stderr_stream == StreamSpec(
        "FileStream", {"filename": "/var/log/a.err", "max_bytes": 1048576, "backup_count": 3}
    )
    assert a.flapping == FlappingSpec(attempts=4, window=2.5, retry_in=3.0, max_retry=5)
    assert a.option_values()["flapping.attempts"] == 4


def test_unknown_stream_keyword_is_dropped_with_a_warning(ini):
    cfg = load(ini("[watcher:a]\ncmd = a\nstdout_stream.filename = f\nstdout_stream.refresh_time = 0.3\n"))
    assert cfg.watcher("a").stdout_stream == StreamSpec("FileStream", {"filename": "f"})
    assert cfg.warnings == (
        "circus.ini:4 [watcher:a] stdout_stream.refresh_time: "
        "FileStream does not use 'refresh_time' "
        "(it accepts filename, max_bytes, backup_count, time_format); ignored",
    )


def test_uid_name_resolves_and_gid_defaults_to_its_primary_group(ini):
    cfg = load(ini("[watcher:a]\ncmd = a\nuid = root\n[watcher:b]\ncmd = b\nuid = 0\ngid = root\n"))
    assert (cfg.watcher("a").uid, cfg.watcher("a").gid) == (0, 0)
    assert (cfg.watcher("b").uid, cfg.watcher("b").gid) == (0, 0)


def test_warmup_delay_accepts_fractions(ini):
    cfg = load(ini("[circus]\nwarmup_delay = 0.5\n[watcher:a]\ncmd = a\nwarmup_delay = 0.25\n"))
    assert (cfg.daemon.warmup_delay, cfg.watcher("a").warmup_delay) == (0.5, 0.25)


def test_stats_endpoint_turns_statsd_on(ini):
    cfg = load(ini("[circus]\nstats_endpoint = ipc:///run/s.sock\n"))
    assert cfg.daemon.statsd is True
    assert cfg.warnings == (
        "circus.ini:2 [circus] stats_endpoint: setting stats_endpoint turns statsd on (statsd = true)",
    )


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        ("[watcher:a]\ncmd = a\nnumprocesses = 0\n", "circus.ini:3 [watcher:a] numprocesses: 0 processes"),
        (
            "[watcher:a]\ncmd = a\nshell_args = -e\n",
            "circus.ini:3 [watcher:a] shell_args: has no effect unless shell",
        ),
        (
            "[socket:web]\nport = 1\n[watcher:a]\ncmd = run $(circus.sockets.web)\n",
            "circus.ini:3 [watcher:a] use_sockets: cmd uses socket(s) web but use_sockets is false",
        ),
        ("[env:nomatch]\nA = 1\n[watcher:a]\ncmd = a\n", "circus.ini:1 [env:nomatch]: matches no watcher"),
        (
            "[watcher:a]\ncmd = a\n[circus]\nendpoint_owner = root\nendpoint = tcp://127.0.0.1:5555\n",
            "circus.ini:4 [circus] endpoint_owner: has no effect on a tcp:// endpoint",
        ),
    ],
)
def test_warnings(ini, text, warning):
    warnings = load(ini(text)).warnings
    assert any(w.startswith(warning) for w in warnings), warnings


# ---- env --------------------------------------------------------------------------------------------


def test_env_sections_precedence_and_order(ini):
    cfg = load(
        ini(
            """\
            [env]
            LEVEL = global
            SHARED = global
            [env:web*]
            LEVEL = web-star
            FIRST = 1
            [env:other,web]
            LEVEL = web-exact
            [watcher:web]
            cmd = a
            [watcher:worker]
            cmd = b
            [watcher:webapi]
            cmd = c
            """
        )
    )
    assert dict(cfg.watcher("web").env) == {"LEVEL": "web-exact", "SHARED": "global", "FIRST": "1"}
    assert dict(cfg.watcher("worker").env) == {"LEVEL": "global", "SHARED": "global"}
    assert dict(cfg.watcher("webapi").env) == {"LEVEL": "web-star", "SHARED": "global", "FIRST": "1"}


def test_env_values_expand_upper_case_vars_from_the_daemon_environment(ini):
    cfg = load(
        ini(
            "[env]\nPATH = $PATH:/opt/bin\nHOMEDIR = $HOME/app\nLOWER = $home\nMISSING = $NOPE/x\n"
            "[watcher:a]\ncmd = a\n"
        ),
        PATH="/usr/bin",
    )
    assert dict(cfg.watcher("a").env) == {
        "PATH": "/usr/bin:/opt/bin",
        "HOMEDIR": "/home/u/app",
        "LOWER": "$home",
        "MISSING": "/x",
    }
    assert cfg.warnings == (
        "circus.ini:5 [env] MISSING: $NOPE is not set in the environment; it expands to nothing",
    )


def test_circus_env_substitution_at_load(ini):
    cfg = load(
        ini(
            """\
            [circus]
            pidfile = $(circus.env.home)/circus.pid
            [env]
            APP = /srv/app
            [env:web]
            PORT = 8000
            [socket:web]
            path = ((circus.env.APP))/web.sock
            [watcher:web]
            cmd = run --port $(circus.env.port) --app $(CIRCUS.ENV.APP) --wid $(circus.wid)
            working_dir = $(circus.env.app)
            args = --fd $(circus.sockets.web) --unknown $(circus.env.nope)
            use_sockets = true
            [watcher:other]
            cmd = run --port $(circus.env.port)
            """
        ),
        HOME="/root",
    )
    assert cfg.daemon.pidfile == "/root/circus.pid"
    assert cfg.socket("web").path == "/srv/app/web.sock"
    web = cfg.watcher("web")
    assert web.cmd == "run --port 8000 --app /srv/app --wid $(circus.wid)"
    assert web.working_dir == "/srv/app"
    assert web.args == ("--fd", "$(circus.sockets.web)", "--unknown", "$(circus.env.nope)")
    assert cfg.watcher("other").cmd == "run --port $(circus.env.port)"  # [env:web] is web's only


def test_deprecated_env_option_ranks_below_env_sections(ini):
    cfg = load(ini("[env:a]\nB = section\n[watcher:a]\ncmd = a\nenv = A=$HOME, B=option\n"))
    assert dict(cfg.watcher("a").env) == {"A": "/home/u", "B": "section"}
    assert cfg.warnings == (
        "circus.ini:5 [watcher:a] env: the env option is deprecated; use an [env:NAME] section",
    )


def test_os_environ_is_the_default(ini, monkeypatch):
    monkeypatch.setenv("CWS_TEST_VALUE", "from-os")
    cfg = load_config(ini("[env]\nX = $CWS_TEST_VALUE\n[watcher:a]\ncmd = a\n"))
    assert cfg.watcher("a").env == {"X": "from-os"}
