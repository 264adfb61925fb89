"""The base of the ``forecasting`` strategies: histories in, ``horizon`` steps out, with quantiles.

A forecasting strategy keeps the ``Strategy`` contract where it applies (parameters, the
registry, save/load without pickle, the footprint) and changes what ``X`` is:

- ``fit(histories, season=..., horizon=..., freq=...)``: ``histories`` is a sequence of 1-d
  float arrays, one per series, oldest first, on one regular frequency. A model fitted per
  series (ETS, ARIMA) only records the settings here and fits each series when it forecasts,
  on the history it is given; a model across series (gradient boosting) learns here; a
  pre-trained model learns nothing;
- ``forecast(histories, horizon=None) -> Forecast``: for each history the next ``horizon``
  steps (default: the fitted horizon), as point forecasts and, for strategies with
  ``has_quantiles``, forecasts at ``QUANTILES`` (0.1 ... 0.9);
- ``predict(histories)``: the point forecasts, one array per history (what latency is timed
  on: one series per call, as ``POST /v1/forecast`` takes them).

``classes_`` is empty: there are no labels.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from crossover.errors import DataError
from crossover.strategies.base import Strategy
from crossover.tasks.forecasting.metrics import QUANTILES

__all__ = [
    "QUANTILES",
    "Forecast",
    "ForecastStrategy",
    "ReuseLedger",
    "as_histories",
    "quantiles_from_levels",
    "reuse_forecasts",
    "series_workers",
    "share_series",
]

#: The central prediction intervals (in percent) whose bounds are those quantiles.
INTERVAL_LEVELS = (20, 40, 60, 80)


@dataclass(frozen=True)
class Forecast:
    """Forecasts of ``n`` series: ``mean`` (n, horizon); ``quantiles`` (n, horizon, 9) at
    ``QUANTILES``, or None for a strategy without them."""

    mean: np.ndarray
    quantiles: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.mean.ndim != 2:
            raise ValueError(f"Forecast.mean must be (series, horizon), not {self.mean.shape}")
        if self.quantiles is not None and self.quantiles.shape != (
            *self.mean.shape,
            len(QUANTILES),
        ):
            raise ValueError(
                f"Forecast.quantiles must be {(*self.mean.shape, len(QUANTILES))}, not "
                f"{self.quantiles.shape}"
            )


def as_histories(X: Any) -> list[np.ndarray]:
    """``X`` as a list of 1-d float arrays; a history that is empty or not finite is refused
    with its position."""
    if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype != object:
        X = [X]
    out = []
    for i, history in enumerate(X):
        try:
            array = np.asarray(history, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise DataError(f"history {i} is not a sequence of numbers: {exc}") from exc
        if array.size == 0:
            raise DataError(f"history {i} is empty; a forecast needs at least one point")
        if not np.isfinite(array).all():
            at = int(np.flatnonzero(~np.isfinite(array))[0])
            raise DataError(f"history {i} has a missing or infinite value at position {at}")
        out.append(array)
    return out


def quantiles_from_levels(out: dict[str, Any], prefix: str = "") -> np.ndarray:
    """The (horizon, 9) quantiles from central intervals at ``INTERVAL_LEVELS`` and the mean
    (statsforecast's ``lo-80`` ... ``hi-80`` and ``mean`` keys, after ``prefix``): the
    interval at level L has the quantiles (50 - L/2) % and (50 + L/2) %."""
    columns = []
    for level in sorted(INTERVAL_LEVELS, reverse=True):
        columns.append(np.asarray(out[f"{prefix}lo-{level}"], dtype=np.float64))
    columns.append(np.asarray(out[f"{prefix}mean"], dtype=np.float64))
    for level in sorted(INTERVAL_LEVELS):
        columns.append(np.asarray(out[f"{prefix}hi-{level}"], dtype=np.float64))
    stacked = np.stack(columns, axis=-1)
    # A model's intervals can cross by rounding; quantiles must not decrease.
    return np.asarray(np.maximum.accumulate(stacked, axis=-1))


class ReuseLedger:
    """What :func:`reuse_forecasts` saved: forecasts and fits served again, and the seconds
    they took when first made (``saved_s`` forecasting, ``saved_fit_s`` learning; a study
    charges them back, so a trial's cost stays what it was)."""

    def __init__(self) -> None:
        self.hits = 0
        self.saved_s = 0.0
        self.saved_fit_s = 0.0


#: Forecasts computed while reuse is on: key -> (forecast, seconds it took, the series that
#: fell back), the least recently used dropped first past ``_REUSE_ENTRIES`` or
#: ``_REUSE_BYTES``. A study's leaderboard trials run one after another, members before the
#: ensemble that reuses their forecasts: five strategies over three windows make 15, the
#: ensemble a few more.
_REUSE: OrderedDict[str, tuple[Forecast, float, int]] = OrderedDict()
_REUSE_ENTRIES = 48
_REUSE_BYTES = 1 << 30
#: Strategies fitted while reuse is on, by the digest of what they learned from: -> (their
#: attributes, the seconds ``fit`` took). Only those that learn from the histories.
_FITTED: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()
_FITTED_ENTRIES = 32
_ledger: ReuseLedger | None = None


@contextmanager
def reuse_forecasts() -> Iterator[ReuseLedger]:
    """Within the block, a forecast already made by an equal strategy (same class,
    parameters, season, horizon and frequency, fitted on the same histories) from the same
    histories is served again instead of recomputed, and a strategy that learns from the
    histories takes the fitted state of an equal one that learned from the same histories
    instead of learning again: an ensemble then reuses the fits and forecasts its members
    made in their own trials (an ensemble's weights, chosen on the last ``horizon`` points
    before a window's cut-off, need its members' forecasts of the window before). The ledger
    counts the seconds saved. Outside the block (latency timing, serving) everything is
    computed."""
    global _ledger
    outer, _ledger = _ledger, ReuseLedger()
    try:
        yield _ledger
    finally:
        _ledger = outer


#: Worker processes a model fitted per series may share its series out to (1: none).
_series_workers = 1


@contextmanager
def share_series(workers: int) -> Iterator[None]:
    """Within the block, a model fitted per series (ETS, ARIMA) forecasting many series shares
    them out over ``workers`` spawned processes. A backtest turns it on in a study's main
    process (its leaderboard trials run there one at a time, leaving the other cores idle);
    serving and latency timing never do (a pool would cost seconds to start)."""
    global _series_workers
    outer, _series_workers = _series_workers, max(1, int(workers))
    try:
        yield
    finally:
        _series_workers = outer


def series_workers() -> int:
    """The worker processes ``share_series`` allows now."""
    return _series_workers


def _nbytes(forecast: Forecast) -> int:
    return forecast.mean.nbytes + (0 if forecast.quantiles is None else forecast.quantiles.nbytes)


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
            h.update(b"|")
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


class ForecastStrategy(Strategy):
    """A ``Strategy`` that forecasts series (module docstring). A subclass implements
    ``_forecast(histories, horizon) -> Forecast`` and, when it learns across series,
    ``_fit_series(histories)``."""

    packages: ClassVar[tuple[str, ...]] = ("numpy",)

    task = "forecasting"
    input_kind = "series"
    #: Whether ``forecast`` gives quantiles (the weighted quantile loss and the 80 % coverage
    #: are measured only for those that do).
    has_quantiles: ClassVar[bool] = True
    #: A strategy reported for reference (the seasonal naive forecast).
    baseline: ClassVar[bool] = False

    season_: int
    horizon_: int
    freq_: str | None
    fit_digest_: str
    #: Seconds ``fit`` took learning (0 for a strategy that learns nothing, or only settled).
    fit_s_: float = 0.0
    #: Series whose forecast failed and fell back to the seasonal naive (0 for none).
    fallbacks_: int = 0

    def _inputs(self, X: Any) -> Any:
        return as_histories(X)

    def fit(
        self,
        X: Any,
        y: Sequence[str] | None = None,
        *,
        season: int = 1,
        horizon: int = 1,
        freq: str | None = None,
        label_descriptions: dict[str, str] | None = None,
    ) -> Self:
        """Learn what the strategy learns from ``histories`` (nothing, for a model fitted per
        series at forecast time) and record the season length, horizon and frequency."""
        learned = self.settle(X, season=season, horizon=horizon, freq=freq)
        if _ledger is not None and learned:
            entry = _FITTED.get(self.fit_digest_)
            if entry is not None:  # an equal strategy learned from the same histories
                _FITTED.move_to_end(self.fit_digest_)
                state, seconds = entry
                self.__dict__.update(state)
                _ledger.hits += 1
                _ledger.saved_fit_s += seconds
                return self
        started = time.perf_counter()
        self._fit_series(learned)
        self.fit_s_ = time.perf_counter() - started
        if _ledger is not None and learned:
            _FITTED[self.fit_digest_] = (dict(self.__dict__), self.fit_s_)
            while len(_FITTED) > _FITTED_ENTRIES:
                _FITTED.popitem(last=False)
        return self

    def settle(
        self, X: Any, *, season: int = 1, horizon: int = 1, freq: str | None = None
    ) -> list[np.ndarray]:
        """The first half of ``fit``: record the settings and the digest of what it learns
        from, and return the histories it learns from ([] when it learns nothing), without
        learning from them (``fit``'s second half, which ``reuse_forecasts`` can skip)."""
        if season < 1 or horizon < 1:
            raise ValueError(f"season ({season}) and horizon ({horizon}) must be at least 1")
        histories = as_histories(X)
        self.season_, self.horizon_, self.freq_ = int(season), int(horizon), freq
        self.classes_ = np.array([], dtype=object)
        self.label_descriptions_ = {}
        np.random.seed(self.seed % (2**32))  # noqa: NPY002  (seeds third-party code)
        learned = histories if self.needs_labels else []
        self.fit_digest_ = _digest(
            self.key, self.get_params(), self.season_, self.horizon_, self.freq_, *learned
        )
        self.fit_s_ = 0.0
        return learned

    def _fit_series(self, histories: list[np.ndarray]) -> None:
        """Learn across series (nothing by default)."""

    def _fit(self, X: Any, y: list[str] | None) -> None:  # pragma: no cover - fit is overridden
        raise NotImplementedError

    def forecast(self, histories: Any, horizon: int | None = None) -> Forecast:
        """The next ``horizon`` steps (default: the fitted horizon) after each history."""
        self._check_fitted()
        steps = self.horizon_ if horizon is None else int(horizon)
        if steps < 1:
            raise ValueError(f"horizon must be at least 1, not {steps}")
        given = as_histories(histories)
        key = ""
        if _ledger is not None and getattr(self, "fit_digest_", None):
            key = _digest(self.fit_digest_, steps, *given)
            if key in _REUSE:
                _REUSE.move_to_end(key)
                result, seconds, fallbacks = _REUSE[key]
                _ledger.hits += 1
                _ledger.saved_s += seconds
                self.fallbacks_ = fallbacks
                return result
        started = time.perf_counter()
        result = self._forecast(given, steps)
        if key:
            fallbacks = int(getattr(self, "fallbacks_", 0))
            _REUSE[key] = (result, time.perf_counter() - started, fallbacks)
            while len(_REUSE) > _REUSE_ENTRIES or (
                len(_REUSE) > 1 and sum(_nbytes(f) for f, _, _ in _REUSE.values()) > _REUSE_BYTES
            ):
                _REUSE.popitem(last=False)
        if not np.isfinite(result.mean).all():
            raise ValueError(f"{self.key} produced a forecast that is not finite")
        if result.quantiles is not None and not np.isfinite(result.quantiles).all():
            raise ValueError(f"{self.key} produced quantile forecasts that are not finite")
        return result

    def _forecast(self, histories: list[np.ndarray], horizon: int) -> Forecast:
        raise NotImplementedError

    def min_history(self) -> int:
        """The fewest points of history the fitted strategy forecasts a series from (what
        ``POST /v1/forecast`` asks of each series): one season, the shortest history a study
        measures a forecaster on (its history budgets are whole seasons), and one point more,
        so that a point a season back can be compared with (the seasonal naive errors that
        give a per-series model's quantiles, and its fallback's, their spread). A strategy
        that needs more overrides it."""
        self._check_fitted()
        return self.season_ + 1

    def _predict(self, X: Any) -> np.ndarray:
        mean = self.forecast(X).mean
        out = np.empty(len(mean), dtype=object)
        for i, row in enumerate(mean):
            out[i] = row
        return out

    def _save_state(self, path: Any) -> None:
        import json

        (path / "forecast.json").write_text(
            json.dumps({"season": self.season_, "horizon": self.horizon_, "freq": self.freq_})
        )

    def _load_state(self, path: Any) -> None:
        import json

        state = json.loads((path / "forecast.json").read_text())
        self.season_, self.horizon_ = int(state["season"]), int(state["horizon"])
        self.freq_ = state["freq"]
