"""A note as people write it, and the word count the background worker adds later."""

from django.db import models


class Note(models.Model):
    author = models.CharField(max_length=80)
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Filled in by `manage.py process_notes` (the circus.ini `worker` watcher); empty until then.
    word_count = models.PositiveIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"

    @property
    def is_processed(self) -> bool:
        return self.processed_at is not None
