"""`manage.py process_notes`: the background worker (circus.ini's `worker` watcher).

Rule: it polls the database for notes nobody has counted yet, counts their words, and on SIGTERM
finishes the note in hand and exits 0, so `circusctl stop worker` and a reload never lose work.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections, transaction
from django.utils import timezone

from notes.models import Note


class Command(BaseCommand):
    help = "Count the words of new notes, forever (stop with SIGTERM or Ctrl-C)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls (default 1)")
        parser.add_argument("--batch", type=int, default=20, help="notes handled per poll (default 20)")
        parser.add_argument("--once", action="store_true", help="handle what is waiting, then exit")

    def handle(self, *args: Any, interval: float, batch: int, once: bool, **options: Any) -> None:
        stopping = threading.Event()

        def request_stop(signum: int, frame: object) -> None:
            self.stdout.write(f"{signal.Signals(signum).name} received; stopping after the current note")
            stopping.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write(f"process_notes: polling every {interval:g}s")
        while not stopping.is_set():
            handled = self.process_waiting(batch, stopping)
            if once:
                break
            close_old_connections()
            if not handled:
                stopping.wait(interval)
        self.stdout.write("process_notes: stopped")

    def process_waiting(self, batch: int, stopping: threading.Event) -> int:
        handled = 0
        waiting = list(Note.objects.filter(processed_at__isnull=True).order_by("id")[:batch])
        for note in waiting:
            if stopping.is_set():
                break
            with transaction.atomic():
                # Another worker process (numprocesses > 1) may have taken it meanwhile.
                taken = Note.objects.filter(pk=note.pk, processed_at__isnull=True).update(
                    word_count=len(note.text.split()), processed_at=timezone.now()
                )
            if taken:
                handled += 1
                self.stdout.write(f"counted note #{note.pk}: {len(note.text.split())} words")
        return handled
