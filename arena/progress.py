"""Progress bars for episode runs: done / total, throughput and ETA (rich)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class ThroughputColumn(ProgressColumn):
    """Episodes per minute finished in this session (resumed episodes not counted)."""

    def __init__(self, start_completed: float = 0.0) -> None:
        super().__init__()
        self.start_completed = start_completed
        self.started = time.monotonic()

    def render(self, task: Task) -> Text:
        elapsed = time.monotonic() - self.started
        done = task.completed - self.start_completed
        if done <= 0 or elapsed <= 0:
            return Text("-- ep/min", style="progress.data.speed")
        return Text(f"{60.0 * done / elapsed:.1f} ep/min", style="progress.data.speed")


@contextmanager
def episode_progress(
    total: int | None,
    completed: int = 0,
    description: str = "episodes",
    console: Console | None = None,
) -> Iterator[Callable[[Any], None]]:
    """A progress bar; yields ``advance(record)`` to call once per finished episode.

    Args:
        total: Episodes in the run (``None`` if unknown).
        completed: Episodes already done (a resumed run starts from here).
        description: Label of the bar.
        console: Where to draw (default: stderr-aware rich console).
    """
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        ThroughputColumn(completed),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total, completed=completed)

        def advance(record: Any = None) -> None:
            progress.advance(task)

        yield advance
