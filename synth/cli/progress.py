"""Progress display on stderr for long work (never on stdout, which carries machine output)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def stage_progress(total: int, description: str = "synth") -> Iterator[Any]:
    """A rich progress bar on stderr; yields ``advance(label)``, to call as each step starts."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(), console=console, transient=not console.is_terminal,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total, step="")
        started = False

        def advance(label: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, step=label)
            if not console.is_terminal:
                console.print(f"[{description}] {label} ...", markup=False, highlight=False)

        yield advance
        progress.update(task, completed=total, step="done")


@contextmanager
def byte_progress(description: str) -> Iterator[Any]:
    """A progress bar on stderr for work through a file; yields ``update(done, total)`` (bytes). Shown only on
    a terminal, and drawn when updated, never from a thread of its own: an import forks worker processes
    while it runs, and a thread writing to the terminal at that moment could leave them a held lock."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                        console=console, auto_refresh=False, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            progress.refresh()

        yield update
