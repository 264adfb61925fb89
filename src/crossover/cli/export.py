"""``crossover export``: train the chosen strategy on every labelled row (for a recommendation
study, every interaction; for a forecasting study, the full history of every series) and write
a model directory that ``crossover serve`` (or ``crossover.load_model``) reads."""

from __future__ import annotations

from pathlib import Path

import typer

from crossover.cli._common import user_errors


@user_errors
def export_command(
    study: Path = typer.Argument(
        ..., readable=False, help="A compare output folder (or its study.json)."
    ),
    out: Path = typer.Option(..., "--out", help="The model folder to write (new or empty)."),
    strategy: str | None = typer.Option(None, "--strategy", help="The strategy key to export."),
    recommended: bool = typer.Option(
        False, "--recommended", help="Export the strategy the recommendation chose."
    ),
    scenario: Path | None = typer.Option(
        None, "--scenario", readable=False, help="Scenario for --recommended (default: defaults)."
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        readable=False,
        help="The study's data file (a recommendation study's interactions, a forecasting "
        "study's series), if it moved.",
    ),
    test: Path | None = typer.Option(
        None, "--test", readable=False, help="The study's fixed test set, if it moved."
    ),
    items: Path | None = typer.Option(
        None,
        "--items",
        readable=False,
        help="A recommendation study's items file, if it moved.",
    ),
) -> None:
    """Train on all labelled rows (training and test) and export with a hashed manifest.

    For a recommendation study: train on every interaction (held-out ones included). For a
    forecasting study: fit on the full history of every series (backtest windows included).
    """
    from crossover.artifacts import export_model, load_model

    path = export_model(
        study,
        out,
        strategy=strategy,
        recommended=recommended,
        data=data,
        test=test,
        scenario=scenario,
        items=items,
    )
    model = load_model(path)  # what serve will do: proves the folder verifies and loads
    manifest = model.manifest
    if model.recommends:
        trained = manifest["trained_on"]
        typer.echo(
            f"exported {manifest['strategy']} ({manifest['kind']}, trained on "
            f"{trained.get('interactions')} interactions of {trained.get('users')} users, "
            f"recommends from {len(model.catalogue)} items) to {path}"
        )
        typer.echo(f"serve it: crossover serve {path}  (POST /v1/recommend)")
        return
    if model.forecasts:
        trained = manifest["trained_on"]
        facts = manifest.get("forecast") or {}
        typer.echo(
            f"exported {manifest['strategy']} ({manifest['kind']}, fitted on "
            f"{trained.get('series')} series, {trained.get('rows')} points; horizon "
            f"{model.default_horizon} steps, "
            f"frequency {model.freq or 'none (whole-number steps)'}, forecasts from "
            f"{facts.get('min_history', model.min_history)} points of history) to {path}"
        )
        typer.echo(f"serve it: crossover serve {path}  (POST /v1/forecast)")
        return
    typer.echo(
        f"exported {manifest['strategy']} ({manifest['kind']}, {len(model.labels)} labels, "
        f"trained on {manifest['trained_on'].get('rows')} rows) to {path}"
    )
    typer.echo(f"serve it: crossover serve {path}")
