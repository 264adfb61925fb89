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
    mlflow_register: str | None = typer.Option(
        None,
        "--mlflow-register",
        help="Also register the exported model in MLflow's model registry under this name "
        "(a new version if it exists), as a pyfunc model that loads through crossover's own "
        "loader: mlflow models serve -m models:/NAME/VERSION serves it. Needs --mlflow.",
    ),
    mlflow: str | None = typer.Option(
        None,
        "--mlflow",
        envvar="MLFLOW_TRACKING_URI",
        show_envvar=True,
        help="With --mlflow-register: the tracking URI (a server with a model registry, e.g. "
        "http://127.0.0.1:5000).",
    ),
    mlflow_experiment: str | None = typer.Option(
        None,
        "--mlflow-experiment",
        help="With --mlflow-register: the experiment of the model's run (default: the study's "
        "if it was logged there, else crossover).",
    ),
) -> None:
    """Train on all labelled rows (training and test) and export with a hashed manifest.

    For a recommendation study: train on every interaction (held-out ones included). For a
    forecasting study: fit on the full history of every series (backtest windows included).
    """
    from crossover.artifacts import export_model, load_model

    if mlflow_register is not None:
        from crossover.errors import ConfigError
        from crossover.tracking import check_tracking_uri

        if mlflow is None:
            raise ConfigError(
                "--mlflow-register needs a tracking server: give --mlflow URI or set "
                "MLFLOW_TRACKING_URI"
            )
        mlflow = check_tracking_uri(mlflow)  # before training: a wrong address costs nothing
    elif mlflow_experiment is not None:
        from crossover.errors import ConfigError

        raise ConfigError("--mlflow-experiment only applies with --mlflow-register NAME")
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
        _register(path, study, mlflow_register, mlflow, mlflow_experiment)
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
        _register(path, study, mlflow_register, mlflow, mlflow_experiment)
        return
    typer.echo(
        f"exported {manifest['strategy']} ({manifest['kind']}, {len(model.labels)} labels, "
        f"trained on {manifest['trained_on'].get('rows')} rows) to {path}"
    )
    typer.echo(f"serve it: crossover serve {path}")
    _register(path, study, mlflow_register, mlflow, mlflow_experiment)


def _register(
    path: Path, study: Path, name: str | None, uri: str | None, experiment: str | None
) -> None:
    if name is None or uri is None:
        return
    from crossover.errors import ConfigError
    from crossover.tracking import EXPERIMENT, register_model

    try:
        registered = register_model(
            path, name, uri, experiment=experiment or EXPERIMENT, study_dir=study
        )
    except ConfigError as exc:
        raise ConfigError(
            f"{exc} (the model is exported to {path}; register it again with the same "
            "command and a new --out)"
        ) from None
    typer.echo(f"registered {registered.model_uri} in MLflow at {uri} (run {registered.run_id})")
    typer.echo(f"serve it with MLflow: {registered.serve_command}")
