"""``crossover costs``: re-price a saved study under a scenario, without recomputing anything."""

from __future__ import annotations

from pathlib import Path

import typer

from crossover.cli._common import print_decision, reprice, user_errors


@user_errors
def costs_command(
    study: Path = typer.Argument(..., readable=False, help="A study.json written by compare."),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        readable=False,
        help="YAML business assumptions (fields and defaults: `crossover costs --help` below).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write decision.json and costs.csv (default: beside STUDY)."
    ),
) -> None:
    """Cost sheets, break-even volumes and the recommendation for a saved study.

    A scenario file sets only what differs from the defaults:

    \b
    volume:        {predictions_per_month: 1000000, growth_per_month: 0.0}
    hardware:      {serving: c7i.xlarge, training: c7i.xlarge, utilisation: 0.5, min_instances: 1}
    labels:        {owned: null (the study's training rows), usd_per_label: null (catalog)}
    retraining:    {every_months: 3}
    engineering:   {usd_per_day: null (catalog), setup_days: {pretrained: 3, custom: 10,
                    hybrid: 8}, maintenance_days_per_month: {pretrained: 0.5, custom: 1.5,
                    hybrid: 1.0}}
    horizon_months: 24
    constraints:   {min_metric: null, max_p95_latency_ms: null, max_monthly_usd: null,
                    on_premises: false, deadline_days: null}
    """
    saved, pricing, recommendation, paths = reprice(study, scenario, out)
    print_decision(saved, pricing, recommendation)
    typer.echo(f"wrote {paths['decision']} and {paths['costs']}")
