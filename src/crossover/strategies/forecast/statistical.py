"""Statistical forecasters fitted per series, from statsforecast: the seasonal naive baseline,
``forecast.ets`` (AutoETS) and ``forecast.arima`` (AutoARIMA).

Each series is fitted on the history it is forecast from, when it is forecast (``fit`` only
records the season length and the horizon): that is what these models are, and it is what a
backtest window and ``POST /v1/forecast`` both need. statsforecast's models are called one
series at a time (``model.forecast(y=..., h=..., level=...)``, the call its ``StatsForecast``
class makes per series), so that no DataFrame is built per call; the quantiles 0.1 ... 0.9 are
the bounds of its central 20, 40, 60 and 80 % intervals and the point forecast.

A series a model cannot fit (too short for a seasonal model, constant, a numerical failure)
is forecast by the seasonal naive method instead, as ``StatsForecast``'s ``fallback_model``
does; ``fallbacks_`` counts them.
"""

from __future__ import annotations

import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Any, ClassVar

import numpy as np

from crossover.strategies.forecast._base import (
    INTERVAL_LEVELS,
    QUANTILES,
    Forecast,
    ForecastStrategy,
    quantiles_from_levels,
    series_workers,
)
from crossover.strategies.registry import register

__all__ = ["ForecastArima", "ForecastEts", "ForecastSeasonalNaive"]

#: A worker process starts in seconds: series are shared out only this many per worker or more.
_SERIES_PER_WORKER = 100
#: A quantile farther than this many times the history's range (max - min) from its last
#: value is a numerical failure, not a forecast: AutoETS on M3 monthly histories of 15-17
#: points gave 80 % intervals of +-680,000 around a series of values under 6,100, and of
#: +-3e12 around one under 7,500 (WQL 2,239 over the earliest of 3 windows); its fallback
#: stands in. A trend carried 18 steps past 15 points moves about 1.2 ranges.
_WIDEST = 10.0


class _PerSeries(ForecastStrategy):
    """A statsforecast model fitted on each history when it is forecast."""

    packages: ClassVar[tuple[str, ...]] = ("statsforecast",)
    kind = "custom"
    fallbacks_: int = 0
    #: Whether sharing many series out over processes pays (not for the seasonal naive,
    #: which takes microseconds a series).
    parallel: ClassVar[bool] = True
    #: Whether an interval beyond ``_WIDEST`` ranges is a failure (not for the seasonal
    #: naive, which is the fallback).
    guarded: ClassVar[bool] = True

    def _model(self, season: int) -> Any:
        raise NotImplementedError

    @staticmethod
    def _season(history: np.ndarray, season: int) -> int:
        """The season length a history can carry: two full seasons at least, else none."""
        return season if len(history) >= 2 * season and season > 1 else 1

    def _one(self, history: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        from statsforecast.models import SeasonalNaive

        season = self._season(history, self.season_)
        levels = list(INTERVAL_LEVELS)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = self._model(season).forecast(y=history, h=horizon, level=levels)
            mean = np.asarray(out["mean"], dtype=np.float64)
            quantiles = quantiles_from_levels(out)
            if not (np.isfinite(mean).all() and np.isfinite(quantiles).all()):
                raise FloatingPointError("a forecast that is not finite")
            if self.guarded and np.abs(quantiles - history[-1]).max() > _WIDEST * np.ptp(history):
                raise FloatingPointError("an interval far wider than the history's values")
        except Exception:  # any failure of one series: its fallback, counted
            self.fallbacks_ += 1
            out = SeasonalNaive(season_length=max(1, min(season, len(history)))).forecast(
                y=history, h=horizon, level=levels
            )
            mean = np.asarray(out["mean"], dtype=np.float64)
            quantiles = quantiles_from_levels(out)
            if not np.isfinite(quantiles).all():  # a one-point history has no spread
                quantiles = np.repeat(mean[:, None], quantiles.shape[-1], axis=1)
        return mean, quantiles

    def _forecast(self, histories: list[np.ndarray], horizon: int) -> Forecast:
        self.fallbacks_ = 0
        workers = min(series_workers(), len(histories) // _SERIES_PER_WORKER)
        if workers > 1 and self.parallel:
            return self._shared_out(histories, horizon, workers)
        pairs = [self._one(history, horizon) for history in histories]
        return Forecast(
            mean=np.stack([m for m, _ in pairs]), quantiles=np.stack([q for _, q in pairs])
        )

    def _shared_out(self, histories: list[np.ndarray], horizon: int, workers: int) -> Forecast:
        """The series forecast in ``workers`` spawned processes, every ``workers``-th series
        in each (similar lengths spread evenly); the same forecasts as one process."""
        context = multiprocessing.get_context("spawn")
        state = (type(self), self.get_params(), self.season_, self.horizon_, self.freq_)
        parts = [(state, histories[w::workers], horizon) for w in range(workers)]
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            done = list(pool.map(_forecast_part, parts))
        mean = np.empty((len(histories), horizon))
        quantiles = np.empty((len(histories), horizon, len(QUANTILES)))
        for w, (part_mean, part_quantiles, fallbacks) in enumerate(done):
            mean[w::workers], quantiles[w::workers] = part_mean, part_quantiles
            self.fallbacks_ += fallbacks
        return Forecast(mean=mean, quantiles=quantiles)


def _forecast_part(
    part: tuple[tuple[type[_PerSeries], dict[str, Any], int, int, str | None], list[Any], int],
) -> tuple[np.ndarray, np.ndarray, int]:
    """One worker's share of ``_PerSeries._shared_out``: its forecasts and fallbacks."""
    (cls, params, season, fitted_horizon, freq), histories, horizon = part
    model = cls(**params).fit([np.zeros(1)], season=season, horizon=fitted_horizon, freq=freq)
    result = model._forecast(histories, horizon)  # series_workers() is 1 in a new process
    assert result.quantiles is not None
    return result.mean, result.quantiles, model.fallbacks_


@register
class ForecastSeasonalNaive(_PerSeries):
    """The value one season ago (the last value where there is no season); the baseline MASE
    is scaled by. Its quantiles assume normal errors with the spread of its in-sample errors.

    Parameters
    ----------
    random_state : int, default=0
        Unused (the forecast is deterministic); kept for the trial's seed.
    """

    key = "forecast.seasonal-naive"
    summary = "the value one season ago (the baseline)"
    parallel = False
    guarded = False
    baseline: ClassVar[bool] = True

    def __init__(self, *, random_state: int = 0) -> None:
        self.random_state = random_state

    @staticmethod
    def _season(history: np.ndarray, season: int) -> int:
        return season if len(history) >= season and season > 1 else 1

    def _model(self, season: int) -> Any:
        from statsforecast.models import SeasonalNaive

        return SeasonalNaive(season_length=season)


@register
class ForecastEts(_PerSeries):
    """Exponential smoothing (error, trend, season) chosen per series by AICc: statsforecast's
    ``AutoETS``.

    Parameters
    ----------
    components : str, default="ZZZ"
        The ETS components (error, trend, season), each A (additive), M (multiplicative),
        N (none) or Z (chosen): ``AutoETS``'s ``model`` (``statsforecast.models.AutoETS``).
    damped : bool or None, default=None
        Damped trend: None lets the selection choose.
    random_state : int, default=0
        Unused (the fit is deterministic); kept for the trial's seed.
    """

    key = "forecast.ets"
    summary = "exponential smoothing per series, components chosen by AICc (AutoETS)"

    def __init__(
        self, *, components: str = "ZZZ", damped: bool | None = None, random_state: int = 0
    ):
        self.components = components
        self.damped = damped
        self.random_state = random_state

    def _model(self, season: int) -> Any:
        from statsforecast.models import AutoETS

        return AutoETS(season_length=season, model=self.components, damped=self.damped)


@register
class ForecastArima(_PerSeries):
    """ARIMA per series, orders chosen by a stepwise AICc search: statsforecast's
    ``AutoARIMA`` (the Hyndman-Khandakar algorithm of R's ``forecast::auto.arima``).

    Parameters
    ----------
    approximation : bool or None, default=None
        Approximate likelihoods during the search (faster on long series); None lets
        statsforecast decide by the series' length.
    random_state : int, default=0
        Unused (the fit is deterministic); kept for the trial's seed.
    """

    key = "forecast.arima"
    summary = "ARIMA per series, orders chosen by a stepwise AICc search (AutoARIMA)"
    #: Several times slower than AutoETS for no gain on M3 monthly: named with --strategies.
    default = False

    def __init__(self, *, approximation: bool | None = None, random_state: int = 0):
        self.approximation = approximation
        self.random_state = random_state

    def _model(self, season: int) -> Any:
        from statsforecast.models import AutoARIMA

        kwargs: dict[str, Any] = {"season_length": season}
        if self.approximation is not None:
            kwargs["approximation"] = self.approximation
        return AutoARIMA(**kwargs)
