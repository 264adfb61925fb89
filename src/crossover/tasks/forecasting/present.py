"""The forecasting task's own sections of the report and the CLI (``Presentation.sections``):
every accuracy metric per strategy, what those numbers are, the data in series and points.

Imported only when a report or a CLI table is made; each function reads a saved ``Study``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossover._format import iso_times, number

if TYPE_CHECKING:
    from crossover.evaluation.trials import TrialResult
    from crossover.study import Study

__all__ = [
    "PLOTTED_SERIES",
    "data_summary",
    "forecast_rows",
    "measured_on",
    "ranking_note",
    "ranking_rows",
    "ranking_title",
    "series_plots",
    "write_files",
]


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
    """The report's data section: series, points, frequency, horizon and windows, and the
    covariates used (static and known in advance), when there are some."""
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
    if s.get("static") or s.get("known"):
        used = []
        if s.get("static"):
            used.append("static: " + ", ".join(s["static"]))
        if s.get("known"):
            used.append("known in advance: " + ", ".join(s["known"]))
        if d.get("known_filled"):
            used.append(f"{d['known_filled']:,} missing known values filled from the one before")
        rows.append(("Covariates", "; ".join(used)))
    return rows


# -- the backtest's forecasts: forecasts.csv and the report's plots --------------------------

#: Series the report plots for the chosen strategy, worst first.
PLOTTED_SERIES = 12


def _steps(study: Study, tail: dict[str, Any]) -> list[Any]:
    """The timestamps (ISO dates, or step numbers) of a kept tail's points."""
    start, n = tail["start"], len(tail["values"])
    freq = study.spec.get("freq")
    if freq is None:
        return list(range(int(start), int(start) + n))
    import pandas as pd

    return iso_times(pd.date_range(pd.Timestamp(start), periods=n, freq=freq))


def _windows_of(study: Study, result: TrialResult) -> dict[str, list[dict[str, list[float]]]]:
    """Per series, its backtest windows' forecasts (oldest first) from a leaderboard trial."""
    from crossover.tasks.forecasting.trial import decode_prediction, series_of

    out: dict[str, list[dict[str, list[float]]]] = {}
    series = study.split.get("unit") == "series"
    for unit, text in zip(study.y_true, result.predictions, strict=False):
        out.setdefault(series_of(unit, series), []).extend(decode_prediction(text))
    return out


def forecast_rows(study: Study) -> list[dict[str, Any]]:
    """Every leaderboard strategy's backtest forecasts, one row per (strategy, series, window,
    step): ``unique_id``, ``ds``, ``cutoff`` (the last timestamp the forecast saw), ``window``,
    ``step``, ``actual``, ``strategy``, ``forecast`` and the 80 % interval ``p10``/``p90``."""
    tails = study.dataset.get("tails") or {}
    horizon = int(study.spec.get("horizon") or 0)
    windows = int(study.spec.get("windows") or 1)
    rows: list[dict[str, Any]] = []
    for result in study.leaderboard_results:
        for sid, forecasts in _windows_of(study, result).items():
            tail = tails.get(sid)
            if tail is None:
                continue
            stamps, values = _steps(study, tail), tail["values"]
            for w, window in enumerate(forecasts):
                first = len(values) - (windows - w) * horizon
                for k, mean in enumerate(window["mean"]):
                    at = first + k
                    rows.append(
                        {
                            "unique_id": sid,
                            "ds": stamps[at],
                            "cutoff": stamps[first - 1],
                            "window": w + 1,
                            "step": k + 1,
                            "actual": values[at],
                            "strategy": result.trial.strategy,
                            "forecast": mean,
                            "p10": window["low"][k] if "low" in window else None,
                            "p90": window["high"][k] if "high" in window else None,
                        }
                    )
    return rows


def write_files(study: Study, out: Path) -> dict[str, Path]:
    """``forecasts.csv``: the rows of :func:`forecast_rows` (Nixtla's cross-validation
    layout, one strategy per row)."""
    import pandas as pd

    rows = forecast_rows(study)
    if not rows:
        return {}
    path = out / "forecasts.csv"
    pd.DataFrame(rows).to_csv(path, index=False, float_format="%.8g")
    return {"forecasts": path}


def series_plots(study: Study, strategy: str) -> list[dict[str, Any]]:
    """The ``PLOTTED_SERIES`` series ``strategy`` forecast worst (its MASE, mean over the
    windows), each with its kept history and actuals (``x``, ``y``) and every window's forecast
    (``x``, ``mean``, ``low``, ``high``), the worst first."""
    from crossover.tasks.forecasting.trial import series_of

    results = {r.trial.strategy: r for r in study.leaderboard_results}
    result = results.get(strategy)
    tails = study.dataset.get("tails") or {}
    if result is None or not tails or not result.unit_scores:
        return []
    horizon = int(study.spec.get("horizon") or 0)
    windows = int(study.spec.get("windows") or 1)
    per_unit = result.unit_scores.get("mase") or []
    by_series: dict[str, list[float]] = {}
    series = study.split.get("unit") == "series"
    for unit, value in zip(study.y_true, per_unit, strict=False):
        if value is not None:
            by_series.setdefault(series_of(unit, series), []).append(float(value))
    worst = sorted(by_series, key=lambda s: -sum(by_series[s]) / len(by_series[s]))
    forecasts = _windows_of(study, result)
    plots = []
    for sid in worst[:PLOTTED_SERIES]:
        tail = tails.get(sid)
        if tail is None:
            continue
        stamps, values = _steps(study, tail), tail["values"]
        drawn = []
        for w, window in enumerate(forecasts.get(sid, [])):
            first = len(values) - (windows - w) * horizon
            drawn.append({"x": stamps[first : first + len(window["mean"])], **window})
        mase = sum(by_series[sid]) / len(by_series[sid])
        plots.append({"series": sid, "mase": mase, "x": stamps, "y": values, "windows": drawn})
    return plots
