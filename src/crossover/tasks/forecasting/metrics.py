"""Forecast accuracy of ``forecasting``: MASE, sMAPE, RMSSE, the weighted quantile loss, coverage.

A forecaster is scored on rolling-origin backtest windows (``backtest``). For one series and one
window: ``history`` ``y_1 .. y_T`` is what the forecaster saw (oldest first), ``actual``
``y_{T+1} .. y_{T+H}`` the next ``H`` true values, ``forecast`` ``f_t`` the ``H`` point
forecasts, and optionally ``quantiles`` ``q_{t,k}`` (``H x K``) forecasts at the increasing
quantile levels ``l_k`` in (0, 1); ``m`` is the season (12 for monthly data)::

    scale_mase  = mean_{t = m+1 .. T} |y_t - y_{t-m}|     (m = 1 when T <= m)
    scale_rmsse = mean_{t = 2 .. T} (y_t - y_{t-1})^2
    MASE  = mean_t |y_t - f_t| / scale_mase
    sMAPE = mean_t 200 |y_t - f_t| / (|y_t| + |f_t|)      (a term with y_t = f_t = 0 is 0)
    RMSSE = sqrt(mean_t (y_t - f_t)^2 / scale_rmsse)
    QL    = sum_{t, k} 2 rho_k(y_t, q_{t,k}),  rho_k(y, q) = max(l_k (y - q), (l_k - 1)(y - q))
    WQL   = sum over (series, window) of QL / (K * sum over (series, window) of sum_t |y_t|)

A scale is the in-sample error of the naive forecasts: the seasonal naive for MASE (so a MASE
below 1 beats repeating last season, as judged on the history), the one-step naive for RMSSE
(as in the M5 competition). It is NaN for a history of fewer than 2 points or one whose naive
errors are all 0 (a constant series); the metrics it scales are then NaN, and ``aggregate``
leaves such (series, window) pairs out, so a caller can count them. sMAPE is in percent, 0 to
200, and needs no scale.

The weighted quantile loss is the one of the Chronos paper and of AutoGluon's benchmarks: in
``autogluon/fev`` (``src/fev/metrics.py``) ``WQL`` is the mean over series, steps and levels of
``2 * |(y - q) * (1{y <= q} - l)|`` (which equals ``2 * rho_l(y, q)``) divided by the mean of
``|y|`` over series and steps, i.e. ``sum 2 rho / (K * sum |y|)``; AutoGluon's
``timeseries/src/autogluon/timeseries/metrics/quantile.py`` computes the same (the loss
averaged over levels, summed, times 2, over ``sum |y|``), and the Chronos evaluation script
(``amazon-science/chronos-forecasting``, ``scripts/evaluation/evaluate.py``) reports GluonTS'
``MeanWeightedSumQuantileLoss`` at levels 0.1 .. 0.9 as ``WQL``. Here one window gives the sum
``quantile_loss`` and ``sum |y|``, and ``wql`` divides the sums of a whole data set, so series
with large values weigh more (the metric is scale-dependent, unlike MASE). Two differences from
fev, by choice: fev fills a NaN scale with 1 where we leave the pair out, and fev's sMAPE drops a
0/0 term where we count it as 0 (a perfect forecast of a zero).

``coverage_80`` is the share of actual values within the 0.1 and 0.9 quantiles, bounds
included: about 0.8 for a calibrated forecaster.

Lengths that disagree and non-finite values raise ``ValueError`` naming the input, the lengths
or the position: they are a strategy's bug, not a data problem. A season below 1 or quantile
levels outside (0, 1) or not increasing raise ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossover.errors import ConfigError

__all__ = [
    "COVERAGE_80_LEVELS",
    "GLOSSARY",
    "QUANTILES",
    "WindowScores",
    "aggregate",
    "coverage",
    "mase",
    "quantile_loss",
    "rmsse",
    "scale_mase",
    "scale_rmsse",
    "score_window",
    "smape",
    "wql",
]

#: What the forecasting metrics mean (the task's glossary entries; keys of ``aggregate``).
GLOSSARY = {
    "mase": "mean absolute error of the point forecasts divided by the mean absolute error of "
    "the seasonal-naive forecast (repeat the value one season earlier) on the same series' "
    "history, mean over series and backtest windows (below 1 beats the seasonal naive; "
    "constant histories left out)",
    "smape": "symmetric mean absolute percentage error, 200 |actual - forecast| / (|actual| + "
    "|forecast|) in percent from 0 to 200, mean over steps, series and backtest windows",
    "rmsse": "root of the mean squared error of the point forecasts divided by the mean squared "
    "error of the one-step naive forecast on the same series' history (as in M5), mean over "
    "series and backtest windows (constant histories left out)",
    "wql": "weighted quantile loss: twice the pinball loss summed over every step, series, "
    "window and quantile level, divided by the number of levels times the sum of |actual| "
    "(as in the Chronos paper and fev; 0 is perfect, large series weigh more)",
    "coverage_80": "share of actual values between the forecast 0.1 and 0.9 quantiles, mean "
    "over series and backtest windows (0.8 for a calibrated forecaster)",
}

#: The quantile levels whose interval ``coverage_80`` scores.
COVERAGE_80_LEVELS = (0.1, 0.9)
#: The quantile levels every forecaster with quantiles gives (the median is 0.5), and the
#: levels the weighted quantile loss is taken over (as in the Chronos and fev benchmarks).
QUANTILES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

_Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class WindowScores:
    """The scores of one (series, window) pair; ``aggregate`` combines many.

    ``mase`` and ``rmsse`` are NaN when the history gives no scale (module docstring). The
    quantile fields are ``None`` when the window was scored without quantiles: ``quantile_loss``
    is the sum of ``2 * pinball`` over steps and levels, ``abs_actual`` the sum of ``|actual|``,
    ``n_levels`` the number of levels.
    """

    mase: float
    smape: float
    rmsse: float
    quantile_loss: float | None = None
    abs_actual: float | None = None
    coverage_80: float | None = None
    n_levels: int | None = None


def scale_mase(history: npt.ArrayLike, season: int) -> float:
    """Mean absolute seasonal-naive error over ``history``; NaN when 0 or under 2 points.

    A history no longer than ``season`` has no full season to compare with; the one-step naive
    (``m = 1``) is used instead, as GluonTS' ``calculate_seasonal_error`` does.
    """
    if season < 1:
        raise ConfigError(f"the season must be 1 or more, got {season}")
    values = _vector(history, "history")
    if len(values) < 2:
        return float("nan")
    lag = season if len(values) > season else 1
    return _positive_or_nan(float(np.mean(np.abs(values[lag:] - values[:-lag]))))


def scale_rmsse(history: npt.ArrayLike) -> float:
    """Mean squared one-step naive error over ``history``; NaN when 0 or under 2 points."""
    values = _vector(history, "history")
    if len(values) < 2:
        return float("nan")
    return _positive_or_nan(float(np.mean(np.diff(values) ** 2)))


def mase(actual: npt.ArrayLike, forecast: npt.ArrayLike, scale: float) -> float:
    """Mean absolute error over ``scale`` (from ``scale_mase``); NaN when ``scale`` is NaN."""
    y, f = _pair(actual, forecast)
    _check_scale(scale)
    return float(np.mean(np.abs(y - f))) / scale


def smape(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Symmetric MAPE in percent, 0 to 200; a step where both are 0 counts 0."""
    y, f = _pair(actual, forecast)
    denominator = np.abs(y) + np.abs(f)
    terms = np.divide(
        200.0 * np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0
    )
    return float(np.mean(terms))


def rmsse(actual: npt.ArrayLike, forecast: npt.ArrayLike, scale: float) -> float:
    """Root of the mean squared error over ``scale`` (from ``scale_rmsse``); NaN if it is NaN."""
    y, f = _pair(actual, forecast)
    _check_scale(scale)
    return float(np.sqrt(np.mean((y - f) ** 2) / scale))


def quantile_loss(actual: npt.ArrayLike, quantiles: npt.ArrayLike, levels: npt.ArrayLike) -> float:
    """Sum over steps ``t`` and levels ``k`` of ``2 * pinball_k(actual_t, quantiles[t, k])``.

    A sum, not a mean, so that ``wql`` can divide a whole data set's total.
    """
    y = _vector(actual, "actual")
    q, lv = _quantiles(quantiles, levels, len(y))
    error = y[:, None] - q
    pinball = np.maximum(lv * error, (lv - 1.0) * error)
    return float(2.0 * np.sum(pinball))


def wql(total_quantile_loss: float, total_abs_actual: float, n_levels: int) -> float:
    """Weighted quantile loss from summed ``quantile_loss`` and ``|actual|``; NaN if the 2nd is 0.

    ``total_quantile_loss / (n_levels * total_abs_actual)`` (module docstring).
    """
    if n_levels < 1:
        raise ValueError(f"the weighted quantile loss needs 1 or more levels, got {n_levels}")
    if not total_abs_actual >= 0:
        raise ValueError(
            f"the sum of |actual| must be 0 or more, got {total_abs_actual}: pass sum(|y|)"
        )
    if total_abs_actual == 0:
        return float("nan")
    return total_quantile_loss / (n_levels * total_abs_actual)


def coverage(actual: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> float:
    """Share of ``actual`` values with ``lower <= actual <= upper``, step by step.

    Crossed bounds (``lower > upper``) are not refused; they cover nothing.
    """
    y, lo = _pair(actual, lower, "lower")
    _, hi = _pair(actual, upper, "upper")
    return float(np.mean((lo <= y) & (y <= hi)))


def score_window(
    history: npt.ArrayLike,
    actual: npt.ArrayLike,
    forecast: npt.ArrayLike,
    season: int,
    quantiles: npt.ArrayLike | None = None,
    levels: npt.ArrayLike | None = None,
) -> WindowScores:
    """Every metric of one (series, window) pair; the quantile ones when ``quantiles`` is given.

    ``coverage_80`` needs the levels 0.1 and 0.9 among ``levels``; without them this raises
    ``ValueError`` naming the levels given.
    """
    y, f = _pair(actual, forecast)
    scores = WindowScores(
        mase=mase(y, f, scale_mase(history, season)),
        smape=smape(y, f),
        rmsse=rmsse(y, f, scale_rmsse(history)),
    )
    if quantiles is None and levels is None:
        return scores
    if quantiles is None or levels is None:
        given, missing = ("quantiles", "levels") if levels is None else ("levels", "quantiles")
        raise ValueError(f"{given} were given without {missing}: pass both or neither")
    q, lv = _quantiles(quantiles, levels, len(y))
    low, high = (_level_column(lv, level) for level in COVERAGE_80_LEVELS)
    return WindowScores(
        mase=scores.mase,
        smape=scores.smape,
        rmsse=scores.rmsse,
        quantile_loss=quantile_loss(y, q, lv),
        abs_actual=float(np.sum(np.abs(y))),
        coverage_80=coverage(y, q[:, low], q[:, high]),
        n_levels=len(lv),
    )


def aggregate(windows: Sequence[WindowScores]) -> dict[str, float]:
    """The data set's scores over many (series, window) pairs.

    ``mase``, ``smape`` and ``rmsse`` are means over the pairs where they are finite (NaN when
    none is); ``wql`` divides the summed quantile losses by the number of levels times the
    summed ``|actual|``; ``coverage_80`` is the mean over pairs. ``wql`` and ``coverage_80``
    are there only when every pair was scored with quantiles, all at the same number of levels.
    """
    if not windows:
        raise ValueError("no (series, window) scores to aggregate")
    out = {
        "mase": _finite_mean([w.mase for w in windows]),
        "smape": _finite_mean([w.smape for w in windows]),
        "rmsse": _finite_mean([w.rmsse for w in windows]),
    }
    losses = [w.quantile_loss for w in windows]
    abs_actuals = [w.abs_actual for w in windows]
    coverages = [w.coverage_80 for w in windows]
    n_levels = {w.n_levels for w in windows}
    if None in losses or None in abs_actuals or None in coverages or None in n_levels:
        return out
    if len(n_levels) > 1:
        raise ValueError(
            f"the windows were scored at different numbers of quantile levels "
            f"({sorted(n for n in n_levels if n is not None)}); the weighted quantile loss needs "
            "the same levels throughout"
        )
    (levels,) = n_levels
    assert levels is not None  # narrowed above; for mypy
    out["wql"] = wql(
        float(np.sum(np.asarray(losses, dtype=float))),
        float(np.sum(np.asarray(abs_actuals, dtype=float))),
        levels,
    )
    out["coverage_80"] = float(np.mean(np.asarray(coverages, dtype=float)))
    return out


def _vector(values: npt.ArrayLike, name: str) -> _Floats:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(
            f"{name} is not finite at position {int(bad[0])} ({array[bad[0]]}) of {len(array)}"
            + (f", and at {bad.size - 1} more" if bad.size > 1 else "")
        )
    return array


def _pair(
    actual: npt.ArrayLike, other: npt.ArrayLike, name: str = "forecast"
) -> tuple[_Floats, _Floats]:
    y = _vector(actual, "actual")
    f = _vector(other, name)
    if len(y) != len(f):
        raise ValueError(f"actual has {len(y)} values but {name} has {len(f)}")
    if len(y) == 0:
        raise ValueError("actual is empty: there is nothing to score")
    return y, f


def _quantiles(
    quantiles: npt.ArrayLike, levels: npt.ArrayLike, horizon: int
) -> tuple[_Floats, _Floats]:
    lv = np.asarray(levels, dtype=float)
    if lv.ndim != 1 or lv.size == 0:
        raise ConfigError(f"quantile levels must be a non-empty list, got {lv.tolist()}")
    if not (np.all((lv > 0) & (lv < 1)) and np.all(np.diff(lv) > 0)):
        raise ConfigError(
            f"quantile levels must be increasing and strictly between 0 and 1, got {lv.tolist()}"
        )
    q = np.asarray(quantiles, dtype=float)
    if q.shape != (horizon, lv.size):
        raise ValueError(
            f"quantiles have shape {q.shape} but {horizon} steps x {lv.size} levels "
            f"({lv.tolist()}) were expected"
        )
    bad = np.argwhere(~np.isfinite(q))
    if bad.size:
        step, k = (int(i) for i in bad[0])
        raise ValueError(
            f"quantiles are not finite at step {step}, level {lv[k]} ({q[step, k]}), "
            f"{len(bad)} value(s) in all"
        )
    return q, lv


def _level_column(levels: _Floats, level: float) -> int:
    # Levels often come from np.arange(0.1, 1, 0.1), where 0.3 is 0.30000000000000004.
    found = np.flatnonzero(np.isclose(levels, level, rtol=0.0, atol=1e-9))
    if not found.size:
        raise ValueError(
            f"coverage_80 needs the quantile levels {COVERAGE_80_LEVELS[0]} and "
            f"{COVERAGE_80_LEVELS[1]}, but the levels are {levels.tolist()}"
        )
    return int(found[0])


def _check_scale(scale: float) -> None:
    if not (np.isnan(scale) or 0 < scale < np.inf):
        raise ValueError(f"a scale must be positive and finite, or NaN for none; got {scale}")


def _positive_or_nan(scale: float) -> float:
    return scale if scale > 0 else float("nan")


def _finite_mean(values: list[float]) -> float:
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    return float(np.mean(finite)) if finite.size else float("nan")
