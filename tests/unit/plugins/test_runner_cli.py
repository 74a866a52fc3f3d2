"""circus-plugin's command line: Circus's --config form, --config-json, and what it refuses."""

from __future__ import annotations

from circus_web_stack.cli.circus_plugin import circus_config, main
from circus_web_stack.cli.exit_codes import EXIT_CONFIG, EXIT_USAGE


def test_circus_config_form():
    assert circus_config("host:127.0.0.1:::port:8125") == {"host": "127.0.0.1", "port": "8125"}
    assert circus_config("url:http://x:1/") == {"url": "http://x:1/"}
    assert circus_config(None) == {}


def test_refusals(capsys):
    assert main(["--ssh", "me@host", "circus.plugins.statsd.StatsdEmitter"]) == EXIT_USAGE
    assert "SSH tunnels are not supported" in capsys.readouterr().err
    assert main(["--config-json", "[1]", "circus.plugins.statsd.StatsdEmitter"]) == EXIT_USAGE
    assert main(["circus.plugins.nope.Nope"]) == EXIT_CONFIG
    assert "is not one of Circus's plugins" in capsys.readouterr().err
    assert main(["--config-json", '{"port": "x"}', "circus.plugins.statsd.StatsdEmitter"]) == EXIT_CONFIG
    assert "port: 'x' is not a whole number" in capsys.readouterr().err
