"""Fixtures for the chaussette component tests: workers that are always stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Worker


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """start_worker(app, *args, **kwargs) -> a ready Worker; all are killed at teardown if still alive."""
    started: list[Worker] = []

    def start(app: str, *args: str, **kwargs: Any) -> Worker:
        kwargs.setdefault("name", f"worker{len(started)}")
        worker = Worker(tmp_path, app, *args, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()
