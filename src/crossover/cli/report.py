"""``crossover report``: render report.html and summary.md again from a saved study."""

from __future__ import annotations

from pathlib import Path

import typer

from crossover.cli._common import user_errors


@user_errors
def report_command(
    study: Path = typer.Argument(..., readable=False, help="A study.json written by compare."),
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
    from crossover._api import decide, write_decision
    from crossover.costs import load_catalog, load_scenario
    from crossover.report import render
    from crossover.study import load_study

    assumptions = load_scenario(scenario).check(load_catalog())
    saved = load_study(study)
    pricing, recommendation = decide(saved, assumptions)
    folder = out or study.parent
    written = write_decision(pricing, recommendation, folder)
    paths = render(saved, folder, pricing=pricing, recommendation=recommendation)
    typer.echo(f"wrote {paths['report']}, {paths['summary']} and {written['decision']}")
