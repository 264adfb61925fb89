"""The ``forecasting`` task's trial: a rolling-origin backtest of one strategy, per series.

A trial backtests its strategy on every window of the study's panel (``evaluate.backtest``):
fit on the histories before each window's cut-offs, forecast the next ``horizon`` steps of
every series in one call, score each (series, window). The trial's budget is a **history
length**: the strategy sees only the last ``budget`` points of each series before every
cut-off (the full history on the leaderboard), so the learning curve answers "from how many
points of history does a custom model beat the pre-trained one?". A zero-shot forecaster learns
nothing but reads that same clipped context, so it runs at every budget too
(``Strategy.curve_without_labels``). Each pair is still scored against its whole history, so
MASE's scale is the same at every budget.

The units the study bootstraps are the series (each series' mean over its windows) when there
are ``MANY_SERIES`` or more; with fewer, the (series, window) pairs, so that a few long series
backtested on several windows still get an interval. The leaderboard trial keeps each unit's
forecasts (mean and the 80 % interval) for the report's plots.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from crossover.evaluation.budgets import FULL
from crossover.evaluation.memory import PeakMemory
from crossover.evaluation.trials import Trial, TrialResult
from crossover.tasks._base import Task
from crossover.tasks.forecasting.backtest import window_cut
from crossover.tasks.forecasting.evaluate import BacktestResult, backtest, window_covariates
from crossover.tasks.forecasting.metrics import COVERAGE_80_LEVELS, QUANTILES
from crossover.tasks.forecasting.series import Panel

if TYPE_CHECKING:
    from crossover.evaluation.execute import TrialData

__all__ = [
    "DEFAULT_BUDGETS",
    "MANY_SERIES",
    "NAME",
    "UNIT_METRICS",
    "decode_prediction",
    "run_forecast_trial",
    "series_of",
    "trial_data",
    "unit_names",
]

#: The task's name in the registry and in a study.
NAME = "forecasting"
#: History lengths as multiples of the season (``compare`` turns them into points).
SEASONS_OF_HISTORY = (1, 2, 4, 8, 16, 32)
#: Placeholder budgets: ``compare`` replaces them with multiples of the data's season.
DEFAULT_BUDGETS: tuple[int | str, ...] = (12, 24, 48, 96, FULL)
#: From this many series on, the units of the bootstrap are series, else (series, window) pairs.
MANY_SERIES = 20
#: The metrics each unit has a value of (means over its windows for a series unit).
UNIT_METRICS = ("mase", "smape", "rmsse")
#: Series whose single-series latency is timed (``POST /v1/forecast`` takes one at a time).
_LATENCY_SERIES = 200
#: Between a series id and its window number in a (series, window) unit's name.
_PAIR = " @ window "
_LOW, _HIGH = (QUANTILES.index(level) for level in COVERAGE_80_LEVELS)


def unit_names(panel: Panel, windows: int, by_series: bool) -> list[str]:
    """The study's units, in the order every trial reports them: series ids, or
    ``"<id> @ window <w>"`` pairs (series by series, windows oldest first)."""
    if by_series:
        return list(panel.ids)
    return [f"{sid}{_PAIR}{w + 1}" for sid in panel.ids for w in range(windows)]


def series_of(unit: str, by_series: bool) -> str:
    """The series id of a unit of ``unit_names``."""
    return unit if by_series else unit.rsplit(_PAIR, 1)[0]


def trial_data(panel: Panel, *, windows: int, by_series: bool) -> TrialData:
    """What every trial sees: the panel and the backtest's layout (no rows to split: the
    windows are cut inside the trial, the same for every strategy)."""
    from crossover.evaluation.execute import TrialData

    return TrialData(
        train_x=[],
        train_y=[],
        test_x=[],
        y_true=np.array(unit_names(panel, windows, by_series), dtype=object),
        label_descriptions=None,
        options={"panel": panel, "windows": windows, "by_series": by_series},
    )


def _unit_scores(result: BacktestResult, by_series: bool) -> dict[str, list[float | None]]:
    if by_series:
        return result.unit_scores()
    out: dict[str, list[float | None]] = {}
    n_series = len(result.scores[0])
    for name in UNIT_METRICS:
        values: list[float | None] = []
        for i in range(n_series):
            for window in result.scores:
                v = float(getattr(window[i], name))
                values.append(v if np.isfinite(v) else None)
        out[name] = values
    return out


def _short(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") for v in np.asarray(values, dtype=np.float64).tolist()]


def _predictions(result: BacktestResult, n_series: int, by_series: bool) -> list[str]:
    """Per unit, JSON of its windows' forecasts: ``{"windows": [{"mean": [...], "low":
    [...], "high": [...]}]}`` (``low``/``high``: the 0.1 and 0.9 quantiles, when given)."""

    def window(w: int, i: int) -> dict[str, list[float]]:
        out = {"mean": _short(result.forecasts[w][i])}
        q = result.quantiles[w]
        if q is not None:
            out["low"], out["high"] = _short(q[i, :, _LOW]), _short(q[i, :, _HIGH])
        return out

    n_windows = len(result.forecasts)
    if by_series:
        return [
            json.dumps({"windows": [window(w, i) for w in range(n_windows)]})
            for i in range(n_series)
        ]
    return [
        json.dumps({"windows": [window(w, i)]}) for i in range(n_series) for w in range(n_windows)
    ]


def decode_prediction(text: str) -> list[dict[str, list[float]]]:
    """The windows of one unit's stored forecasts (see ``_predictions``); [] when none."""
    if not text:
        return []
    windows: list[dict[str, list[float]]] = json.loads(text)["windows"]
    return windows


class _TimedWithCovariates:
    """A model fitted with covariates, timed as serving calls it: one input names a series
    (its position, as an array), forecast from its recent history with its covariates (the
    history ends ``horizon`` points before the series does, so that the known covariates of
    the steps forecast are at hand)."""

    def __init__(self, strategy: Any, panel: Panel) -> None:
        self.strategy = strategy
        series = panel.series[:_LATENCY_SERIES]
        ends = [len(s) - panel.horizon for s in series]
        seen = [min(end, 512) for end in ends]
        self.histories = [
            s.values[end - n : end] for s, end, n in zip(series, ends, seen, strict=True)
        ]
        sub = replace(panel, series=series)
        self.covariates = window_covariates(sub, ends, seen, panel.horizon)
        self.inputs = [np.array([float(i)]) for i in range(len(series))]

    def uncached(self) -> Any:
        return self.strategy.uncached()

    def footprint(self) -> dict[str, Any]:
        footprint: dict[str, Any] = self.strategy.footprint()
        return footprint

    def predict(self, X: Any) -> np.ndarray:
        picked = [int(x[0]) for x in X]
        given = self.covariates
        assert given is not None
        covariates = replace(
            given,
            static=tuple(given.static[i] for i in picked) if given.static else (),
            known=tuple(given.known[i] for i in picked) if given.known else (),
        )
        mean = self.strategy.forecast(
            [self.histories[i] for i in picked], covariates=covariates
        ).mean
        out = np.empty(len(mean), dtype=object)
        for i, row in enumerate(mean):
            out[i] = row
        return out


def run_forecast_trial(
    trial: Trial,
    data: TrialData,
    task: Task,
    *,
    measure_speed: bool = True,
    encode_s_per_text: dict[str, float] | None = None,
) -> TrialResult:
    """Backtest the trial's strategy on the last ``budget`` points of each history, measure."""
    from crossover.evaluation.execute import (
        NOT_MEASURED,
        build_strategy,
        measured_result,
        speed_and_size,
    )

    strategy: Any = build_strategy(trial)
    panel: Panel = data.options["panel"]
    windows = int(data.options["windows"])
    by_series = bool(data.options["by_series"])
    history = None if trial.budget in (0, FULL) else int(trial.budget)
    with PeakMemory() as memory:
        result = backtest(panel, strategy, windows=windows, history=history)
    timed = trial.budget in (0, FULL)
    speed = NOT_MEASURED
    if measure_speed and timed:
        # One call = one series' recent history, as POST /v1/forecast takes it.
        if strategy.static_names_ or strategy.known_names_:
            timed_model = _TimedWithCovariates(strategy, panel)
            speed = speed_and_size(timed_model, timed_model.inputs)  # type: ignore[arg-type]
        else:
            recent = [s.values[-min(len(s), 512) :] for s in panel.series[:_LATENCY_SERIES]]
            speed = speed_and_size(strategy, recent)
    # The history the last window's fit saw per series: what a model in production trains on.
    last = [window_cut(len(s), windows - 1, windows, panel.horizon) for s in panel.series]
    seen = [min(n, history) if history else n for n in last]
    fallbacks = int(result.extra.get("fallbacks", 0))
    counted = []
    if fallbacks:
        counted.append(
            {
                "source": "crossover",
                "category": "Fallback",
                "message": "a forecast failed and the seasonal naive forecast stood in",
                "count": fallbacks,
            }
        )
    return measured_result(
        trial,
        strategy,
        metrics=dict(result.metrics),
        predictions=_predictions(result, len(panel.series), by_series) if timed else [],
        # Points of history per series (the learning curve's x): no labels are bought.
        n_train=round(float(np.mean(seen))),
        # A model fitted per series (ETS, ARIMA) fits when it forecasts: its training is
        # that time, so one window's fit plus forecast is what producing a forecast costs.
        fit_wall_s=(result.fit_s + result.forecast_s) / windows,
        encode_train_s=0.0,
        predict_s=result.forecast_s / windows,
        speed=speed,
        peak_mem_mb=memory.peak_mb,
        unit_scores=_unit_scores(result, by_series),
        n_classes=1,
        warnings=counted,
    )
