"""Configuration: the option table, the frozen model and the Circus ini loader.

Public API (everything else in this package is internal):
load_config, parse_watcher, parse_socket, parse_daemon, set_watcher_option, substitute, diff, the model's
dataclasses, and the option table's is_settable / needs_reload.
"""

from circus_web_stack.config.loader import (
    load_config,
    parse_daemon,
    parse_socket,
    parse_watcher,
    set_watcher_option,
)
from circus_web_stack.config.model import (
    Config,
    ConfigDiff,
    DaemonConfig,
    FlappingSpec,
    HookSpec,
    PluginConfig,
    SocketConfig,
    StreamSpec,
    WatcherConfig,
    diff,
)
from circus_web_stack.config.options import (
    DAEMON_OPTIONS,
    PLUGIN_OPTIONS,
    SOCKET_OPTIONS,
    WATCHER_FAMILIES,
    WATCHER_OPTIONS,
    is_settable,
    needs_reload,
)
from circus_web_stack.config.substitution import substitute

__all__ = [
    "DAEMON_OPTIONS",
    "PLUGIN_OPTIONS",
    "SOCKET_OPTIONS",
    "WATCHER_FAMILIES",
    "WATCHER_OPTIONS",
    "Config",
    "ConfigDiff",
    "DaemonConfig",
    "FlappingSpec",
    "HookSpec",
    "PluginConfig",
    "SocketConfig",
    "StreamSpec",
    "WatcherConfig",
    "diff",
    "is_settable",
    "load_config",
    "needs_reload",
    "parse_daemon",
    "parse_socket",
    "parse_watcher",
    "set_watcher_option",
    "substitute",
]
