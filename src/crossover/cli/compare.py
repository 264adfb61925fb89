"""``crossover compare``: build and measure every strategy on the same test rows."""

from __future__ import annotations

from pathlib import Path

import typer

from crossover.cli._common import (
    print_decision,
    print_leaderboard,
    print_learning_curves,
    user_errors,
)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def run_compare(
    data: Path,
    *,
    test: Path | None,
    text: str | None,
    label: str | None,
    strategies: str | None,
    model: str,
    label_descriptions: Path | None,
    out: Path,
    seed: int,
    use_cache: bool,
    strict: bool,
    budgets: str | None = None,
    seeds: int = 3,
    jobs: int | None = None,
    target: float | None = None,
    all_budgets: bool = False,
    time_budget: float | None = None,
    scenario: Path | None = None,
) -> None:
    """Load, compare, price, decide, print and write; shared by ``compare`` and ``demo``."""
    from crossover._api import compare, decide, write_outputs
    from crossover.costs import load_catalog, load_scenario
    from crossover.data import load

    assumptions = load_scenario(scenario).check(load_catalog())  # bad scenario: fail first

    dataset = load(
        data,
        text=text,
        label=label,
        test=test,
        label_descriptions=label_descriptions,
        strict=strict,
    )
    for role, column in dataset.inferred.items():
        typer.secho(f"inferred --{role} {column}", fg="cyan", err=True)
    study = compare(
        dataset,
        strategies=strategies,
        model=model,
        seed=seed,
        use_cache=use_cache,
        budgets=budgets,
        seeds=seeds,
        jobs=jobs,
        target=target,
        all_budgets=all_budgets,
        time_budget_s=time_budget,
        trials_dir=out / "trials",
        progress=True,
    )
    print_leaderboard(study)
    print_learning_curves(study)
    pricing, recommendation = decide(study, assumptions)
    print_decision(pricing, recommendation)
    paths = write_outputs(study, out, pricing=pricing, recommendation=recommendation)
    typer.echo(f"wrote {', '.join(str(p) for p in paths.values())} ({study.duration_s:.1f} s)")


@user_errors
def compare_command(
    data: Path = typer.Argument(
        ..., readable=False, help="Labelled texts: CSV, TSV, Parquet or JSON Lines."
    ),
    test: Path | None = typer.Option(
        None, "--test", readable=False, help="A fixed test set (same columns)."
    ),
    text: str | None = typer.Option(None, "--text", help="Text column (inferred if omitted)."),
    label: str | None = typer.Option(None, "--label", help="Label column (inferred if omitted)."),
    strategies: str | None = typer.Option(
        None,
        "--strategies",
        help="Comma-separated strategy keys (default: the four defaults; add text.setfit).",
    ),
    model: str = typer.Option(
        DEFAULT_MODEL, "--model", help="Sentence-transformers model: Hugging Face id or folder."
    ),
    label_descriptions: Path | None = typer.Option(
        None,
        "--label-descriptions",
        readable=False,
        help="YAML or JSON file: label -> description.",
    ),
    out: Path = typer.Option(Path("crossover-out"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the models, the bootstrap."),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Do not read or write the on-disk embedding cache."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Fail on rows with empty texts instead of dropping them."
    ),
    budgets: str = typer.Option(
        "2,4,8,16,32,64,full",
        "--budgets",
        help="Labelled rows per class for learning curves, and/or 'full'.",
    ),
    seeds: int = typer.Option(3, "--seeds", help="Stratified subsamples per budget."),
    jobs: int | None = typer.Option(
        None, "--jobs", help="Worker processes for learning-curve trials (default: CPU count)."
    ),
    target: float | None = typer.Option(
        None, "--target", help="A metric value to reach, e.g. 0.9: labels needed to reach it."
    ),
    all_budgets: bool = typer.Option(
        False, "--all-budgets", help="Run text.setfit (limited to <= 16 per class) at every budget."
    ),
    time_budget: float | None = typer.Option(
        None, "--time-budget", help="Seconds of training per text.setfit trial."
    ),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        readable=False,
        help="YAML: volume, hardware, label and engineer prices, constraints (default: the "
        "documented defaults; see `crossover prices`).",
    ),
) -> None:
    """Build the pretrained, custom and hybrid candidates and measure them side by side."""
    run_compare(
        data,
        test=test,
        text=text,
        label=label,
        strategies=strategies,
        model=model,
        label_descriptions=label_descriptions,
        out=out,
        seed=seed,
        use_cache=not no_cache,
        strict=strict,
        budgets=budgets,
        seeds=seeds,
        jobs=jobs,
        target=target,
        all_budgets=all_budgets,
        time_budget=time_budget,
        scenario=scenario,
    )
