"""The form that creates a note; the template renders it with {% csrf_token %}."""

from django import forms

from notes.models import Note


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["author", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}
