"""A watcher: facade.py (commands and their lock), driver.py (events through the state machine),
executor.py (the one place effects run), streams.py and spawning.py (what a spawn runs and where its
output goes), settings.py (what the state machine reads of a config)."""

from circus_web_stack.runtime.watcher.facade import Watcher

__all__ = ["Watcher"]
