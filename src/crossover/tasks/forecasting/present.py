"""The forecasting task's own sections of the report and the CLI (``Presentation.sections``):
every accuracy metric per strategy, what those numbers are, the data in series and points.

Imported only when a report or a CLI table is made; each function reads a saved ``Study``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossover._format import number

if TYPE_CHECKING:
    from crossover.study import Study

__all__ = ["data_summary", "measured_on", "ranking_note", "ranking_rows", "ranking_title"]


def _units(study: Study) -> str:
    split = study.split
    if split.get("unit") == "series":
        return f"bootstrap over {split.get('series', 0):,} series"
    return f"bootstrap over {split.get('units', 0):,} (series, window) pairs"


def measured_on(study: Study) -> str:
    """The CLI leaderboard's caption after the metric: the windows and series."""
    split = study.split
    return (
        f"on {split.get('windows', 1)} backtest window(s) of {split.get('horizon', 0)} steps "
        f"of {split.get('series', 0):,} series (lower is better; 95 % CI, {_units(study)})"
    )


def ranking_rows(study: Study) -> list[dict[str, str]]:
    """One row per leaderboard strategy with every accuracy metric; MASE with its interval."""
    results = {r.trial.strategy: r for r in study.leaderboard_results}
    digits = 3
    rows = []
    for name in study.leaderboard["strategy"]:
        metrics = results[name].metrics
        stats = study.statistics.get(name, {}).get("mase", {})
        mase = number(metrics.get("mase"), digits)
        if stats.get("ci_low") is not None and stats.get("ci_high") is not None:
            mase += f" [{number(stats['ci_low'], digits)}, {number(stats['ci_high'], digits)}]"
        rows.append(
            {
                "strategy": name,
                "MASE [95 % CI]": mase,
                "sMAPE %": number(metrics.get("smape"), 2),
                "RMSSE": number(metrics.get("rmsse"), digits),
                "WQL": number(metrics.get("wql"), digits) if "wql" in metrics else "-",
                "80 % coverage": number(metrics.get("coverage_80"), 2)
                if "coverage_80" in metrics
                else "-",
            }
        )
    return rows


def ranking_note(study: Study) -> str:
    """What the accuracy table's numbers are."""
    return (
        "MASE divides each forecast's mean absolute error by the seasonal naive forecast's on "
        "the same series' history (below 1 beats repeating last season); sMAPE is in percent; "
        "WQL is the weighted quantile loss of the 0.1 ... 0.9 quantiles (as in the Chronos and "
        "fev benchmarks); coverage is the share of actual values inside the 80 % interval "
        "(0.8 when calibrated). Lower is better for all but coverage. Intervals: "
        f"{_units(study)}."
    )


def ranking_title(study: Study) -> str:
    return "Forecast accuracy"


def data_summary(study: Study) -> list[tuple[str, str]]:
    """The report's data section: series, points, frequency, horizon and windows."""
    d, s = study.dataset, study.spec
    rows = [
        ("Source", str(d.get("source", ""))),
        ("Series", f"{d.get('series', 0):,}"),
        (
            "Points per series",
            f"{d.get('points_min', 0):,} to {d.get('points_max', 0):,} "
            f"(median {number(d.get('points_median'), 0)})",
        ),
        ("Frequency", f"{s.get('freq') or 'steps (no calendar)'}, season {s.get('season')}"),
        ("Horizon", f"{s.get('horizon')} steps, {s.get('windows')} backtest window(s)"),
    ]
    if d.get("filled"):
        rows.append(("Gaps filled", f"{d['filled']:,} points ({s.get('fill')})"))
    return rows
