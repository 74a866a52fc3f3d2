"""Circus's plugin API and the plugins Circus ships, working: `from circus_web_stack.plugins import
CircusPlugin` is Circus's `from circus.plugins import CircusPlugin`, and `ioloop` stands for Tornado's.

Each [plugin:NAME] runs as the watcher `plugin:NAME` through `circus-plugin` (cli/circus_plugin.py);
config/plugin_use.py maps Circus's dotted paths to the modules here. See docs/plugins.md.
"""

from circus_web_stack.plugins.base import CircusPlugin

__all__ = ["CircusPlugin"]
