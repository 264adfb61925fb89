"""What every command shares: the error boundary, warnings, and the leaderboard table."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from pathlib import Path

    from crossover.costs.sheet import Pricing
    from crossover.recommend import Recommendation
    from crossover.study import Study
    from crossover.tasks._present import Presentation

P = ParamSpec("P")
R = TypeVar("R")


def version_callback(value: bool) -> None:
    if value:
        from crossover import __version__

        typer.echo(f"crossover {__version__}")
        raise typer.Exit()


class _WarningHandler(logging.Handler):
    """Prints the library's warnings as one yellow line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.secho(f"warning: {record.getMessage()}", fg="yellow", err=True)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a ``CrossoverError`` as one line on stderr and exit 2, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from crossover.errors import CrossoverError

        logger = logging.getLogger("crossover")
        handler = _WarningHandler(logging.WARNING)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        try:
            return func(*args, **kwargs)
        except CrossoverError as exc:
            typer.secho(f"error: {exc}", fg="red", err=True)
            raise typer.Exit(exc.exit_code) from None
        finally:
            logger.removeHandler(handler)

    return wrapper


def _fmt(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{value:.{digits}f}"


def _measured_on(study: Study, present: Presentation) -> str:
    """Where the leaderboard's scores come from: the task's words, else the test rows (or
    the mean over the splits of a repeated study)."""
    where = present.measured_on(study)
    if where is not None:
        return where
    if study.repeated:
        n_splits = len(study.split.get("split_ids") or [])
        return (
            f"mean over {n_splits} splits of {study.split['test_rows']} test rows (95 % CI "
            "across splits)"
        )
    return f"on {study.split['test_rows']} test rows (95 % CI)"


def print_leaderboard(study: Study) -> None:
    """The leaderboard as a table on stdout, then a one-line reading of it."""
    from rich.console import Console
    from rich.table import Table

    from crossover._format import latency, significance
    from crossover.tasks import get as get_task

    board = study.leaderboard
    present = get_task(study.task).present
    digits = present.digits
    table = Table(title=f"{study.headline} {_measured_on(study, present)}")
    for column, justify in (
        ("strategy", "left"),
        ("kind", "left"),
        (study.headline, "right"),
        ("95% CI", "right"),
        ("Δ vs best", "right"),
        ("signif.", "center"),
        ("fit s", "right"),
        ("p50 ms (rounds)", "right"),
        ("p95 ms", "right"),
        ("rows/s", "right"),
        ("MB", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in board.itertuples():
        significant = significance(row.significant)
        table.add_row(
            str(row.strategy),
            str(row.kind),
            _fmt(row.score, digits),
            f"{_fmt(row.ci_low, digits)}–{_fmt(row.ci_high, digits)}",
            _fmt(row.delta_vs_best, digits),
            significant,
            _fmt(row.fit_s, 1),
            latency(row, _fmt),
            _fmt(row.latency_p95_ms, 1),
            _fmt(row.throughput_rows_s, 0),
            _fmt(row.size_mb, 1),
        )
    console = Console(width=max(150, Console().width))
    console.print(table)
    best = board.iloc[0]
    ties = board[(board.index > 0) & (board["significant"] == False)]  # noqa: E712
    tied = f"; not significantly better than {', '.join(ties.strategy)}" if len(ties) else ""
    console.print(
        f"Best: [bold]{best.strategy}[/bold] ({best.kind}), {study.headline} "
        f"{best.score:.{digits}f} [{best.ci_low:.{digits}f}, {best.ci_high:.{digits}f}]{tied}."
    )
    busy = board[board["timed_busy"] == True]  # noqa: E712
    if len(busy):
        console.print(
            f"* timed while other work competed for the cores: {', '.join(busy.strategy)}; "
            "their latency and cost per prediction are likely overstated."
        )
    print_thresholds(study, console)
    print_ranking(study, console)
    for line in api_lines(study):
        console.print(line)


def api_lines(study: Study) -> list[str]:
    """One sentence per strategy behind a paid API: answers, errors, tokens, latency, spend."""
    from crossover.report.data import api_rows

    return [
        f"{a['strategy']} ({a['model']}): {a['answers']} answers, {a['unparseable']} "
        f"unparseable and {a['failed']} failed (counted as errors); tokens per prediction "
        f"{a['tokens']}; p50 / p95 {a['latency']} ms per call; {a['spent']} on the test rows "
        f"({a['price']})"
        for a in api_rows(study)
    ]


def print_ranking(study: Study, console: Any) -> None:
    """The task's own metrics table, if it has one (recommendation: every ranking metric per
    strategy, and the cold-start slice)."""
    from rich.table import Table

    from crossover.tasks import get as get_task

    present = get_task(study.task).present
    rows = present.ranking_rows(study)
    if not rows:
        return
    table = Table(title=present.ranking_title(study))
    for column in rows[0]:
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in rows:
        table.add_row(*row.values())
    console.print(table)


def print_thresholds(study: Study, console: Any) -> None:
    """Tables with --amount and --cost-fp: each strategy's threshold and the money it saves."""
    from crossover.report.data import threshold_text

    if not study.thresholds:
        return
    amount = study.spec.get("amount")
    first = next(iter(study.thresholds.values()))
    console.print(
        f"Decision threshold (flag rows scoring at or above it; reviewing one costs "
        f"{first['cost_fp']:g}, a missed positive loses its {amount!r}), on the "
        f"{first['rows']} test rows, threshold chosen on one half and scored on the other:"
    )
    for strategy, t in sorted(study.thresholds.items(), key=lambda kv: -kv[1]["saved"]):
        console.print(
            f"  {strategy}: threshold {threshold_text(t['threshold'])}, loss {t['loss']:,.0f} "
            "against "
            f"{t['no_model_loss']:,.0f} without a model: saves {t['saved']:,.0f} "
            f"({t['saved_per_1k_rows']:,.0f} per 1,000 rows)"
        )


def print_learning_curves(study: Study) -> None:
    """Mean score per strategy and budget, then the plain-language answer."""
    from rich.console import Console
    from rich.table import Table

    from crossover.tasks import get as get_task

    curve = study.learning_curve
    if curve.empty or curve["budget_per_class"].nunique() <= 2:
        return  # no budgets beyond the leaderboard's
    budgets = sorted({b for b in curve["budget_per_class"] if b not in (0, "0", "full")}, key=int)
    columns = [*budgets, "full"]
    where = " (on the first split)" if study.repeated else ""
    present = get_task(study.task).present
    digits = present.digits
    table = Table(
        title=f"learning curves{where}: mean {study.headline} over seeds, by " + present.budget_unit
    )
    table.add_column("strategy", no_wrap=True)
    for b in columns:
        table.add_column(str(b), justify="right")
    for strategy, rows in curve.groupby("strategy", sort=False):
        by_budget = {str(r.budget_per_class): r.score_mean for r in rows.itertuples()}
        if set(by_budget) == {"0"}:
            cells = [_fmt(by_budget["0"], digits)] * len(columns)
            table.add_row(f"{strategy} (pre-trained)", *cells)
            continue
        table.add_row(str(strategy), *(_fmt(by_budget.get(str(b)), digits) for b in columns))
    console = Console(width=max(150, Console().width))
    console.print(table)
    for line in study.curves.get("summary", []):
        console.print(line)


def reprice(
    study: Path, scenario: Path | None, out: Path | None
) -> tuple[Study, Pricing, Recommendation, dict[str, Path]]:
    """Price a saved study under a scenario (checked before the study is read), decide, and
    write decision.json and costs.csv into ``out`` (default: beside the study)."""
    from crossover._api import decide, write_decision
    from crossover.costs import load_catalog, load_scenario
    from crossover.study import load_study

    assumptions = load_scenario(scenario).check(load_catalog())
    saved = load_study(study)
    pricing, recommendation = decide(saved, assumptions)
    paths = write_decision(pricing, recommendation, out or study.parent)
    return saved, pricing, recommendation, paths


def print_decision(study: Study, pricing: Pricing, recommendation: Recommendation) -> None:
    """The cost sheet per candidate, then the recommendation, its reasons and flip points.
    A study whose strategies buy no labels (forecasting) has no "labels to buy" column."""
    from crossover.tasks import get as get_task

    buys_labels = get_task(study.task).present.buys_labels
    from rich.console import Console
    from rich.table import Table

    scenario = pricing.scenario
    volume = scenario.volume.predictions_per_month
    table = Table(
        title=(
            f"costs at {volume:,.0f} predictions a month over {scenario.horizon_months} months "
            f"(scenario: {scenario.source}; prices of {pricing.catalog_as_of})"
        )
    )
    columns = ["strategy", "hosting", "setup $", "labels to buy", "$ / 1M pred.", "$ / month"]
    columns += ["$ horizon", "days to prod."]
    if not buys_labels:
        columns.remove("labels to buy")
    for column in columns:
        table.add_column(column, justify="left" if column in ("strategy", "hosting") else "right")
    for s in pricing.sheets:
        cells = [s.strategy, s.hosting, f"{s.setup_usd:,.0f}", f"{s.labels_to_buy:,}"]
        cells += [_fmt(s.usd_per_million, 2), f"{s.monthly_usd:,.0f}", f"{s.horizon_usd:,.0f}"]
        cells.append(f"{s.days_to_production:.0f}")
        if not buys_labels:
            del cells[3]
        table.add_row(*cells)
    console = Console(width=max(150, Console().width))
    console.print(table)
    if recommendation.choice:
        console.print(f"Recommended: [bold]{recommendation.choice}[/bold] ({recommendation.kind})")
    else:
        console.print("[bold]No candidate meets the scenario's constraints.[/bold]")
    for reason in recommendation.reasons:
        console.print(f"- {reason}")
    for flip in recommendation.flip_points:
        console.print(f"- Flip point: {flip['text']}")
    crossings = [b for b in pricing.break_evens if b.volumes]
    if crossings:
        console.print("Break-even volumes (monthly cost lines cross):")
    for b in crossings:
        console.print(f"  {b.describe()}")
    for o in pricing.overtakes:
        if o.month is not None:
            console.print(
                f"  {o.later} costs more to set up than {o.cheaper_first} but is cheaper in "
                f"total from month {o.month}"
            )
