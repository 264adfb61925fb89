"""Progress written to a file or a pipe: whole plain lines with done/total, never a cut bar."""

from __future__ import annotations

import io

import pytest

from crossover.evaluation.progress import PlainReporter, RichReporter

LONG = "learning-curve trials (16 processes) of a study with a long description " * 2


def test_rich_reporter_writes_plain_lines_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    reporter = RichReporter()  # capsys: stderr is not a terminal
    assert reporter.plain is not None
    with reporter.stage(LONG, 1949) as advance:
        for done in range(1, 1950):
            advance(done, None)
    reporter.message("resumed 3 finished trial(s)")
    lines = capsys.readouterr().err.splitlines()
    assert "…" not in "".join(lines)
    assert lines[0] == f"{LONG}: started, 0/1949"
    assert lines[-2].startswith(f"{LONG}: done, 1949/1949 in 0:00:")
    assert lines[-1] == "resumed 3 finished trial(s)"
    # A line every tenth of the stage in between, each with done/total and the elapsed time.
    between = lines[1:-2]
    assert 5 <= len(between) <= 10
    assert all("/1949 (0:00:" in line for line in between)


def test_plain_reporter_prints_every_few_seconds_and_counts_without_a_total() -> None:
    stream = io.StringIO()
    reporter = PlainReporter(stream, every_s=0.0)  # a line at every advance
    with reporter.stage("embedding texts with m") as advance:
        advance(512, 1200)
        advance(1024, 1200)
        advance(1200, 1200)
    with reporter.stage("nothing to embed"):
        pass
    assert stream.getvalue().splitlines() == [
        "embedding texts with m: started",
        "embedding texts with m: 512/1200 (0:00:00)",
        "embedding texts with m: 1024/1200 (0:00:00)",
        "embedding texts with m: done, 1200/1200 in 0:00:00",
        "nothing to embed: started",
        "nothing to embed: done in 0:00:00",
    ]


def test_rich_reporter_messages_are_not_markup() -> None:
    reporter = RichReporter()
    from rich.console import Console

    reporter.console = Console(
        file=io.StringIO(), force_terminal=True, color_system=None, width=200
    )
    reporter.plain = None
    reporter.message("classes [refund] and [/x] are not in y_true")
    assert "[refund] and [/x]" in reporter.console.file.getvalue()  # type: ignore[attr-defined]
