"""Progress of a study's stages: a rich progress bar in a terminal or a notebook, plain lines
when the output goes to a file or a pipe (a log), or nothing."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Protocol

__all__ = [
    "Advance",
    "PlainReporter",
    "Reporter",
    "RichReporter",
    "SilentReporter",
    "call_progress",
]

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


def _clock(seconds: float) -> str:
    """``0:09:31``: elapsed time as the rich bar shows it."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class PlainReporter:
    """One line per stage start and end, and one every tenth of the stage or ``every_s``
    seconds in between (whichever comes first), each with done/total and the elapsed time;
    never a partial line, so that a log file reads like the terminal did.

    ``stream`` is written at the time of each line (default: the ``sys.stderr`` of then).
    """

    def __init__(self, stream: IO[str] | None = None, *, every_s: float = 10.0) -> None:
        self.stream = stream
        self.every_s = every_s

    def _write(self, line: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(line + "\n")
        stream.flush()

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Advance]:
        start = last_time = time.monotonic()
        done, printed, size = 0, 0, total
        self._write(f"{description}: started" + (f", 0/{total}" if total is not None else ""))

        def advance(completed: int, new_total: int | None = None) -> None:
            nonlocal done, printed, size, last_time
            now = time.monotonic()
            done, size = completed, new_total or total
            step = max(1, math.ceil(size / 10)) if size else 1
            due = completed - printed >= step or now - last_time >= self.every_s
            if due and (size is None or completed < size):  # the end has its own line
                self._write(f"{description}: {_count(completed, size)} ({_clock(now - start)})")
                printed, last_time = completed, now

        yield advance
        elapsed = _clock(time.monotonic() - start)
        if size is not None:
            self._write(f"{description}: done, {size}/{size} in {elapsed}")
        else:
            self._write(f"{description}: done" + (f", {done}" if done else "") + f" in {elapsed}")

    def message(self, text: str) -> None:
        self._write(text)


def call_progress(
    reporter: Reporter, label: str, *, every_s: float = 10.0
) -> Callable[[str, int, int, int], None]:
    """A hook for ``crossover.models.llm.report_calls``: a message line such as
    "text.llm-zero-shot: 120/265 calls (3 failed, 0:00:42)" at every tenth of the calls (a
    second apart at least), every ``every_s`` seconds in between, and at the last one.
    Thread-safe."""
    import threading

    lock = threading.Lock()
    state = {"start": time.monotonic(), "last": time.monotonic(), "printed": 0, "total": -1}

    def hook(unit: str, done: int, total: int, failed: int) -> None:
        with lock:
            now = time.monotonic()
            if total != state["total"] or done < state["printed"]:  # a new batch of calls
                state.update(start=now, last=now, printed=0, total=total)
            step = max(1, math.ceil(total / 10))
            since = now - state["last"]
            # A tenth of the calls, but not more than a line a second (fast calls, or answers
            # from the cache, would print one per call), or every_s seconds.
            due = (done - state["printed"] >= step and since >= 1.0) or since >= every_s
            if not (due or done == total) or done == state["printed"]:
                return
            state.update(last=now, printed=done)
            failures = f"{failed:,} failed, " if failed else ""
            reporter.message(
                f"{label}: {done:,}/{total:,} {unit} ({failures}{_clock(now - state['start'])})"
            )

    return hook


def _count(completed: int, total: int | None) -> str:
    return f"{completed}/{total}" if total is not None else f"{completed}"


class RichReporter:
    """One bar per stage on stderr; rich renders it in Jupyter as well as in a terminal.

    When stderr is neither (a file, a pipe), a bar could only be drawn once, cut to 80 columns
    ("1949… 0:09:…"): the stages are reported as :class:`PlainReporter` lines instead.
    """

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        interactive = self.console.is_terminal or self.console.is_jupyter
        self.plain = None if interactive else PlainReporter()  # stderr, as the console

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Advance]:
        if self.plain is not None:
            with self.plain.stage(description, total) as advance:
                yield advance
            return
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
        if self.plain is not None:
            self.plain.message(text)
        else:
            # Plain text: a warning's message may hold "[...]", which rich would read as markup.
            self.console.print(text, markup=False)
