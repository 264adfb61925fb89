"""Backtesting one forecaster on a panel of series: the forecasts and the scores of every
(series, window), and the data set's metrics.

For each window (``backtest.cuts``) the strategy is fitted on the histories before the window's
cut-offs (clipped to the last ``history`` points when a learning curve asks for fewer) and
forecasts the next ``horizon`` steps of every series in one call. Each (series, window) is
scored against the whole history before its cut-off, whatever the clip: MASE's scale is the
same for every history budget, so the curve compares like with like.

Covariates travel with the histories (``window_covariates``): the static ones as they are,
the known ones for the points the strategy sees (clipped alike) when fitting, and for those
plus the ``horizon`` steps after the cut-off when forecasting: they are known in advance by
definition. The values after the cut-off never reach the strategy. A panel without
covariates gives the strategy none (the calls of before).

``unit_scores`` gives each series' value of MASE, sMAPE and RMSSE (the mean over its windows):
the units a paired bootstrap over series resamples.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crossover.strategies.forecast._base import Covariates, reuse_forecasts, share_series
from crossover.tasks.forecasting.backtest import clip, cuts
from crossover.tasks.forecasting.metrics import QUANTILES, WindowScores, aggregate, score_window
from crossover.tasks.forecasting.series import Panel

__all__ = ["BacktestResult", "backtest", "window_covariates"]


@dataclass(frozen=True)
class BacktestResult:
    """A strategy's backtest: ``metrics`` over every (series, window); ``scores[w][i]`` and
    ``forecasts[w]`` (series, horizon) of window ``w``; ``quantiles[w]`` (series, horizon, 9)
    or None; ``fit_s`` and ``forecast_s`` summed over the windows."""

    metrics: dict[str, float]
    scores: list[list[WindowScores]]
    forecasts: list[np.ndarray]
    quantiles: list[np.ndarray | None]
    fit_s: float
    forecast_s: float
    left_out: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def unit_scores(self) -> dict[str, list[float | None]]:
        """Per series, the mean over windows of MASE, sMAPE and RMSSE (None when undefined)."""
        out: dict[str, list[float | None]] = {}
        for name in ("mase", "smape", "rmsse"):
            values = np.array(
                [[getattr(s, name) for s in window] for window in self.scores], dtype=np.float64
            )
            with np.errstate(invalid="ignore"):
                means = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=0)
            out[name] = [float(v) if np.isfinite(v) else None for v in means]
        return out


def window_covariates(
    panel: Panel, ends: list[int], seen: list[int], ahead: int = 0
) -> Covariates | None:
    """The covariates of a window whose series end at ``ends`` and show their last ``seen``
    points: the known ones of those points and the ``ahead`` steps after each end (None for a
    panel without covariates)."""
    if not panel.has_covariates:
        return None
    known: tuple[np.ndarray, ...] = ()
    if panel.known_names:
        known = tuple(
            np.asarray(s.known)[end - n : end + ahead]
            for s, end, n in zip(panel.series, ends, seen, strict=True)
        )
    return Covariates(
        static_names=panel.static_names,
        known_names=panel.known_names,
        static=tuple(s.static for s in panel.series) if panel.static_names else (),
        known=known,
    )


def _workers() -> int:
    """Every core in a study's main process (or a script); 1 in a worker process, whose
    siblings already keep the other cores busy."""
    if multiprocessing.parent_process() is not None:
        return 1
    return os.cpu_count() or 1


def backtest(
    panel: Panel,
    strategy: Any,
    *,
    windows: int = 1,
    step: int | None = None,
    history: int | None = None,
    horizon: int | None = None,
) -> BacktestResult:
    """Fit and forecast ``strategy`` (a ``ForecastStrategy``) on each window of ``panel``."""
    steps_ahead = panel.horizon if horizon is None else horizon
    by_window: dict[int, list[int]] = {}
    for cut in cuts(panel.lengths, windows, steps_ahead, step):
        by_window.setdefault(cut.window, []).append(cut.end)
    scores: list[list[WindowScores]] = []
    forecasts: list[np.ndarray] = []
    quantiles: list[np.ndarray | None] = []
    fit_s = forecast_s = 0.0
    reused = 0
    for window in range(windows):
        ends = by_window[window]
        full = [s.values[:end] for s, end in zip(panel.series, ends, strict=True)]
        seen = [clip(h, history) for h in full]
        lengths = [len(h) for h in seen]
        # Passed only where there are some: a strategy of before takes none.
        fit_extra: dict[str, Any] = {}
        forecast_extra: dict[str, Any] = {}
        if panel.has_covariates:
            fit_extra["covariates"] = window_covariates(panel, ends, lengths)
            forecast_extra["covariates"] = window_covariates(panel, ends, lengths, steps_ahead)
        with reuse_forecasts() as ledger, share_series(_workers()):
            # A fit or forecast served again (an ensemble's member's, made in the member's own
            # trial) costs what it took to make: charged back, so the timings stay the
            # uncached ones.
            start = time.perf_counter()
            strategy.fit(
                seen, season=panel.season, horizon=steps_ahead, freq=panel.freq, **fit_extra
            )
            charged = ledger.saved_s + ledger.saved_fit_s
            fit_s += time.perf_counter() - start + charged
            start = time.perf_counter()
            result = strategy.forecast(seen, steps_ahead, **forecast_extra)
            forecast_s += time.perf_counter() - start + ledger.saved_s + ledger.saved_fit_s
            forecast_s -= charged
            reused += ledger.hits
        window_scores = []
        for i, (series, end) in enumerate(zip(panel.series, ends, strict=True)):
            actual = series.values[end : end + steps_ahead]
            window_scores.append(
                score_window(
                    full[i],
                    actual,
                    result.mean[i],
                    panel.season,
                    quantiles=None if result.quantiles is None else result.quantiles[i],
                    levels=None if result.quantiles is None else QUANTILES,
                )
            )
        scores.append(window_scores)
        forecasts.append(result.mean)
        quantiles.append(result.quantiles)
    pairs = [s for window in scores for s in window]
    left_out = sum(1 for s in pairs if not np.isfinite(s.mase))
    return BacktestResult(
        metrics=aggregate(pairs),
        scores=scores,
        forecasts=forecasts,
        quantiles=quantiles,
        fit_s=fit_s,
        forecast_s=forecast_s,
        left_out=left_out,
        extra={"fallbacks": int(getattr(strategy, "fallbacks_", 0)), "reused": reused},
    )
