"""Notes in Django's admin: searchable, filterable by whether the worker has counted them."""

from django.contrib import admin

from notes.models import Note


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "short_text", "word_count", "created_at", "processed_at"]
    list_filter = [("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["author", "text"]
    readonly_fields = ["created_at", "processed_at", "word_count"]

    @admin.display(description="text")
    def short_text(self, note: Note) -> str:
        return note.text[:60]
