"""``crossover demo``: ``compare`` on the bundled support-tickets example."""

from __future__ import annotations

from pathlib import Path

import typer

from crossover.cli._common import user_errors
from crossover.cli.compare import DEFAULT_MODEL, run_compare


@user_errors
def demo_command(
    out: Path = typer.Option(Path("crossover-demo"), "--out", help="Output folder."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", help="Sentence-transformers model."),
    scenario: Path | None = typer.Option(
        None, "--scenario", readable=False, help="YAML business assumptions (see compare)."
    ),
) -> None:
    """Compare the default strategies on the bundled support tickets (1,300 rows, 12 intents),
    price them under the scenario and recommend one."""
    from crossover.data import example_path

    data = example_path("support_tickets")
    descriptions = data.with_name("support_tickets_labels.yaml")
    typer.secho(f"demo data: {data} with label descriptions {descriptions.name}", err=True)
    run_compare(
        data,
        test=None,
        text="text",
        label="label",
        strategies=None,
        model=model,
        label_descriptions=descriptions,
        out=out,
        seed=0,
        use_cache=True,
        strict=False,
        scenario=scenario,
    )
