"""Views: the notes page (list + create, POST/redirect/GET), a slow view for drain tests, a health check."""

from __future__ import annotations

import os
import time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from notes.forms import NoteForm
from notes.models import Note

PAGE_SIZE = 50
SLOW_MAX_S = 60.0


@require_http_methods(["GET", "HEAD", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            note = form.save()
            messages.success(request, f"Note #{note.pk} saved; the worker will count its words.")
            return redirect("notes:index")
    else:
        form = NoteForm()
    notes = Note.objects.all()[:PAGE_SIZE]
    context = {"form": form, "notes": notes, "total": Note.objects.count(), "pid": os.getpid()}
    return render(request, "notes/index.html", context, status=400 if form.errors else 200)


@require_GET
@never_cache
def slow(request: HttpRequest) -> HttpResponse:
    """Sleeps ?seconds=N (default 2, at most 60): a request that is still in flight when a worker is
    told to stop, to see that a rolling reload lets it finish."""
    try:
        seconds = float(request.GET.get("seconds", "2"))
    except ValueError:
        return HttpResponseBadRequest("seconds must be a number\n", content_type="text/plain")
    if not 0 <= seconds <= SLOW_MAX_S:
        return HttpResponseBadRequest(
            f"seconds must be between 0 and {SLOW_MAX_S:g}\n", content_type="text/plain"
        )
    started = time.monotonic()
    time.sleep(seconds)  # chaussette's gevent backend has patched sleep: other requests keep being served
    return HttpResponse(
        f"slept {time.monotonic() - started:.2f}s in pid {os.getpid()}\n", content_type="text/plain"
    )


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Answers only when the app can reach its database; `pid` shows which worker answered."""
    return JsonResponse({"status": "ok", "pid": os.getpid(), "notes": Note.objects.count()})
