"""Progress of a study's stages: a rich progress bar in a terminal or a notebook, or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

__all__ = ["Advance", "Reporter", "RichReporter", "SilentReporter"]

Advance = Callable[[int, int | None], None]  # (completed, total) -> None


class Reporter(Protocol):
    """Receives the stages of a study: each with a description and a count to complete."""

    def stage(
        self, description: str, total: int | None = None
    ) -> AbstractContextManager[Advance]: ...

    def message(self, text: str) -> None: ...


class SilentReporter:
    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Advance]:
        def advance(completed: int, new_total: int | None = None) -> None:
            pass

        yield advance

    def message(self, text: str) -> None:
        pass


class RichReporter:
    """One bar per stage on stderr; rich renders it in Jupyter as well as in a terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Advance]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console, transient=False) as progress:
            task = progress.add_task(description, total=total)

            def advance(completed: int, new_total: int | None = None) -> None:
                progress.update(task, completed=completed, total=new_total or total)

            yield advance
            final = progress.tasks[0].total
            if final is not None:
                progress.update(task, completed=final)

    def message(self, text: str) -> None:
        self.console.print(text)
