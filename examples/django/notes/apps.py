"""The notes app: a list of short notes, created through a form, counted by a background worker."""

from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def use_wal(using: str, **_: Any) -> None:
    """Switches an SQLite database to write-ahead logging, once: the mode is kept in the file."""
    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")


class NotesConfig(AppConfig):
    name = "notes"
    verbose_name = "Notes"

    def ready(self) -> None:
        post_migrate.connect(use_wal, sender=self)
