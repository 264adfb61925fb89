"""``crossover report``: render report.html and summary.md again from a saved study."""

from __future__ import annotations

from pathlib import Path

import typer

from crossover.cli._common import reprice, user_errors


@user_errors
def report_command(
    study: Path = typer.Argument(
        ..., readable=False, help="A study.json written by compare (or its folder)."
    ),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        readable=False,
        help="YAML business assumptions to price the candidates under (default: the defaults).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write report.html and summary.md (default: beside STUDY)."
    ),
) -> None:
    """Render the report (self-contained HTML with charts) and the Markdown summary."""
    from crossover.report import render

    if study.is_dir():
        study = study / "study.json"
    saved, pricing, recommendation, written = reprice(study, scenario, out)
    folder = out or study.parent
    paths = render(saved, folder, pricing=pricing, recommendation=recommendation)
    typer.echo(f"wrote {paths['report']}, {paths['summary']} and {written['decision']}")
