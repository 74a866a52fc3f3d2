"""A plugin class for the loader's tests: a third party's, written against the plugin API."""

from circus_web_stack.plugins import CircusPlugin


class Stats(CircusPlugin):
    def handle_recv(self, data):
        pass
