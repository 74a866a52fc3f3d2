"""The notes app: a list of short notes, created through a form, counted by a background worker."""

from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "notes"
    verbose_name = "Notes"
