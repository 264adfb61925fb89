"""A forecasting study's input: read and check the series, choose the windows and budgets.

``prepare_study`` is the task's ``prepare``; the study pipeline (``crossover.compare``) runs
the rest as for every task: trials planned by budget (history lengths), kept in the trial store
(a rerun resumes), run in worker processes, and a ``Study`` whose intervals come from a
bootstrap over the series (or the (series, window) pairs when there are few series).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

import pandas as pd

from crossover.data import Dataset
from crossover.errors import ConfigError
from crossover.evaluation.budgets import FULL, Budget
from crossover.strategies import registry
from crossover.tasks._base import Split, StudyInputs
from crossover.tasks.forecasting.backtest import window_cut
from crossover.tasks.forecasting.series import MIN_TRAIN, Panel, read_series
from crossover.tasks.forecasting.trial import (
    MANY_SERIES,
    NAME,
    SEASONS_OF_HISTORY,
    trial_data,
    unit_names,
)

if TYPE_CHECKING:
    from crossover.evaluation.progress import Reporter
    from crossover.plan import StudyPlan
    from crossover.study import Study
    from crossover.tasks.forecasting.options import ForecastOptions

__all__ = [
    "HEADLINE",
    "LOWER_IS_BETTER",
    "default_windows",
    "history_budgets",
    "keep_tails",
    "prepare_study",
]

#: The headline metric, and the metrics where a smaller value wins.
HEADLINE = "mase"
LOWER_IS_BETTER = frozenset({"mase", "smape", "rmsse", "wql"})
#: Windows a study of few series backtests on when ``--windows`` is not given.
FEW_SERIES_WINDOWS = 3


def default_windows(panel: Panel) -> int:
    """1 window for ``MANY_SERIES`` series or more (the series give the interval); else up to
    ``FEW_SERIES_WINDOWS``, as many as the shortest series allows."""
    if len(panel.series) >= MANY_SERIES:
        return 1
    fits = (int(panel.lengths.min()) - MIN_TRAIN) // panel.horizon
    return max(1, min(FEW_SERIES_WINDOWS, fits))


def _histories_before(panel: Panel, windows: int) -> list[int]:
    """Each series' points before the earliest backtest window."""
    return [window_cut(len(s), 0, windows, panel.horizon) for s in panel.series]


def history_budgets(panel: Panel, windows: int) -> list[Budget]:
    """The learning curve's history lengths: 1, 2, 4 ... seasons (horizons, without a season)
    shorter than the median history before the earliest window, then the full history."""
    unit = panel.season if panel.season > 1 else panel.horizon
    middle = median(_histories_before(panel, windows))
    budgets: list[Budget] = [unit * m for m in SEASONS_OF_HISTORY if unit * m < middle]
    return [*budgets, FULL]


def prepare_study(data: Any, options: StudyPlan, reporter: Reporter) -> StudyInputs:
    """The forecasting task's ``prepare``: read the series (``data``: a long-format file or
    DataFrame), settle the windows, lay out the trial data."""
    own: ForecastOptions = options.options.check()
    if isinstance(data, Dataset):
        raise ConfigError(
            "the forecasting task reads its series itself: pass the file or DataFrame"
        )
    read = partial(
        read_series,
        data,
        id=own.id,
        time=own.time,
        target=own.value,
        horizon=own.horizon,
        freq=own.freq,
        season=own.season,
        fill=own.fill,
        strict=own.strict,
        static=own.static,
        known=own.known,
    )
    panel = read(windows=own.windows or 1)
    windows = own.windows or default_windows(panel)
    if windows > 1 and own.windows is None:
        panel = read(windows=windows)
    for line in panel.notes:
        reporter.message(line)
    for line in panel.warnings:
        reporter.message(f"warning: {line}")
    by_series = len(panel.series) >= MANY_SERIES
    lengths = panel.lengths
    description = (
        f"{windows} rolling-origin backtest window(s) of {panel.horizon} steps at the end of "
        f"each of {len(panel.series):,} series (every strategy on the same windows)"
    )
    reporter.message(description)
    split_id = f"forecast-{panel.fingerprint}-{windows}"
    histories = _histories_before(panel, windows)
    units = unit_names(panel, windows, by_series)
    return StudyInputs(
        splits=[Split(pd.DataFrame(), pd.DataFrame(), split_id, description)],
        trial_data={split_id: trial_data(panel, windows=windows, by_series=by_series)},
        headline=HEADLINE,
        spec={
            "task": NAME,
            "id": panel.columns.get("id"),
            "time": panel.columns.get("time"),
            "value": panel.columns.get("target"),
            "horizon": panel.horizon,
            "freq": panel.freq,
            "season": panel.season,
            "windows": windows,
            "fill": own.fill,
            "strict": own.strict,
            "static": list(panel.static_names),
            "known": list(panel.known_names),
        },
        dataset={
            "source": panel.source,
            "rows": int(lengths.sum()),
            "series": len(panel.series),
            "points_min": int(lengths.min()),
            "points_median": float(median(lengths.tolist())),
            "points_max": int(lengths.max()),
            "filled": int(sum(s.filled for s in panel.series)),
            "known_filled": int(sum(s.known_filled for s in panel.series)),
            "fingerprint": panel.fingerprint,
            "warnings": list(panel.warnings),
            "notes": list(panel.notes),
        },
        split={
            "description": description,
            "split_id": split_id,
            "split_ids": [split_id],
            # Points of history per series before the last window (what a budget counts,
            # and what the trial's n_train is at the full budget) and points forecast.
            "train_rows": round(
                sum(window_cut(len(s), windows - 1, windows, panel.horizon) for s in panel.series)
                / len(panel.series)
            ),
            "test_rows": len(panel.series) * windows * panel.horizon,
            "windows": windows,
            "horizon": panel.horizon,
            "series": len(panel.series),
            "unit": "series" if by_series else "series-window",
            "units": len(units),
        },
        y_true=units,
        label=None,
        has_text=False,
        seeds=1,  # a backtest of the last N points draws nothing at random
        settings={
            "data_paths": _paths(data),
            "load": {
                "task": NAME,
                "id": own.id,
                "time": own.time,
                "value": own.value,
                "freq": panel.freq,
                "fill": own.fill,
                "static": list(panel.static_names),
                "known": list(panel.known_names),
            },
        },
        fit_default_budgets=partial(_fit_budgets, panel, windows),
        limit_budgets=partial(_limit_budgets, max(histories)),
        adjust=partial(_adjust, options.model),
        finish=partial(_finish, panel, windows),
    )


def _finish(panel: Panel, windows: int, study: Study) -> None:
    """The study's end: keep the series' tails; forget the fits and forecasts its backtests
    shared (the next study measures its own)."""
    from crossover.strategies.forecast._base import forget_reused

    keep_tails(panel, windows, study)
    forget_reused()


#: Seasons (horizons, without a season) of history kept before the backtest windows for plots.
_TAIL_SEASONS = 3


def keep_tails(panel: Panel, windows: int, study: Study) -> None:
    """Keep the end of each series in the study (``dataset["tails"]``): the points of the
    backtest windows and a few seasons before them, with the timestamp of the first, so that
    the report can plot forecasts against actuals and ``forecasts.csv`` can date each step
    without the data file."""
    unit = panel.season if panel.season > 1 else panel.horizon
    keep = windows * panel.horizon + _TAIL_SEASONS * max(unit, panel.horizon)
    tails = {}
    for s in panel.series:
        start = max(0, len(s) - keep)
        first = panel.index(s, start, start + 1)[0]
        tails[s.id] = {
            "start": first.isoformat() if hasattr(first, "isoformat") else int(first),
            "values": [float(f"{v:.8g}") for v in s.values[start:].tolist()],
        }
    study.dataset["tails"] = tails


def _fit_budgets(
    panel: Panel, windows: int, budgets: list[Budget], reporter: Reporter
) -> list[Budget]:
    return history_budgets(panel, windows)


def _limit_budgets(longest: int, budgets: list[Budget], reporter: Reporter) -> list[Budget]:
    """Budgets count points of history per series: those no series can fill are dropped."""
    dropped = [b for b in budgets if b != FULL and int(b) >= longest]
    if dropped:
        reporter.message(
            f"skipped budget(s) {dropped} points of history: the longest series has {longest:,} "
            "before the first backtest window (the full budget covers it)"
        )
    return [b for b in budgets if b == FULL or int(b) < longest]


def _adjust(model: str, keys: list[str], params: dict[str, dict[str, Any]]) -> None:
    """``--model`` names a forecaster for the pre-trained strategy that runs its family
    (Fracast-0 for ``forecast.fracast``, Chronos for ``forecast.chronos``); the others keep
    their own default, as every one does for the text encoder ``--model`` names by default.
    A forecaster no strategy of the study runs is refused, naming the one that would."""
    from crossover.models._resolve import DEFAULT_MODEL
    from crossover.models.forecasters import family_of

    family = None if model == DEFAULT_MODEL else family_of(model)
    takers = []
    for key in keys:
        if "model" not in params[key]:
            continue
        cls = registry.get(key)
        families = getattr(cls, "families", ())
        if (
            model == DEFAULT_MODEL
            or cls.kind != "pretrained"
            or (family and family not in families)
        ):
            del params[key]["model"]
        else:
            takers.append(key)
    if family is not None and not takers:
        runs = [
            k
            for k in registry.keys(task=NAME)
            if family in getattr(registry.get(k), "families", ())
        ]
        raise ConfigError(
            f"--model {model}: a {family} forecaster, which none of the study's strategies "
            f"runs; add {' or '.join(runs) or 'a strategy that runs it'} to --strategies"
        )


def _paths(data: str | Path | pd.DataFrame) -> dict[str, str]:
    if isinstance(data, str | Path) and Path(data).is_file():
        return {"data": str(Path(data).resolve())}
    return {}
