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

Covariates (``Covariates``: static values per series, such as a store's region, and values
known in advance at every step, such as a price, a promotion, a holiday) are passed as
``fit(..., covariates=...)`` and ``forecast(..., covariates=...)``; the known ones cover each
history at ``fit`` and each history plus the ``horizon`` steps ahead at ``forecast``. A
strategy whose ``uses_covariates`` is False (every one but the boosted model) ignores them and
behaves as without them; one that uses them records their names when fitted and refuses to
forecast without them.

``classes_`` is empty: there are no labels.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from crossover.errors import DataError
from crossover.strategies.base import Strategy
from crossover.tasks.forecasting.metrics import QUANTILES

__all__ = [
    "QUANTILES",
    "Covariates",
    "Forecast",
    "ForecastStrategy",
    "ReuseLedger",
    "as_histories",
    "forget_reused",
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


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in names) or "none"


@dataclass(frozen=True)
class Covariates:
    """The covariates of ``n`` series, in the order of their histories.

    ``static[i]`` maps each of ``static_names`` to series ``i``'s value (a text or a number;
    None: missing); ``known[i]`` is a float array (steps, ``len(known_names)``) whose row ``j``
    goes with the step of ``history[j]`` (rows past the history: the steps forecast).
    ``Covariates.of`` builds one from mappings by name.
    """

    static_names: tuple[str, ...] = ()
    known_names: tuple[str, ...] = ()
    static: tuple[Mapping[str, Any], ...] = ()
    known: tuple[np.ndarray, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        static: Sequence[Mapping[str, Any]] | None = None,
        known: Sequence[Mapping[str, Sequence[float]]] | None = None,
        static_names: Sequence[str] | None = None,
        known_names: Sequence[str] | None = None,
    ) -> Covariates:
        """From one mapping per series (``static``: name -> value; ``known``: name -> its
        values, one per step). The names default to the first series'; a series without one
        of them is a ``DataError`` naming it."""
        static_rows = list(static or [])
        known_rows = list(known or [])
        s_names = tuple(static_names if static_names is not None else (static_rows or [{}])[0])
        k_names = tuple(known_names if known_names is not None else (known_rows or [{}])[0])
        for what, rows, names in (("static", static_rows, s_names), ("known", known_rows, k_names)):
            for i, row in enumerate(rows):
                missing = [n for n in names if n not in row]
                if missing:
                    raise DataError(f"series {i} has no {what} covariate {missing[0]!r}")
        arrays = []
        for i, row in enumerate(known_rows):
            try:
                columns = [np.asarray(row[n], dtype=np.float64).reshape(-1) for n in k_names]
            except (TypeError, ValueError) as exc:
                raise DataError(f"series {i}: a known covariate is not numbers: {exc}") from exc
            lengths = {len(c) for c in columns}
            if len(lengths) > 1:
                sizes = ", ".join(f"{n!r} {len(c)}" for n, c in zip(k_names, columns, strict=True))
                raise DataError(
                    f"series {i}: its known covariates have different lengths ({sizes})"
                )
            steps = lengths.pop() if lengths else 0
            arrays.append(np.stack(columns, axis=1) if columns else np.empty((steps, 0)))
        return cls(
            static_names=s_names,
            known_names=k_names,
            static=tuple(dict(r) for r in static_rows),
            known=tuple(arrays),
        )

    @property
    def empty(self) -> bool:
        """Whether there are no covariates at all."""
        return not self.static_names and not self.known_names

    def check(self, lengths: Sequence[int], ahead: int) -> None:
        """Refuse (``DataError``) covariates that do not go with histories of ``lengths``:
        one entry per series, and known values for each history and ``ahead`` steps more."""
        n = len(lengths)
        if self.static_names and len(self.static) != n:
            raise DataError(f"static covariates for {len(self.static)} series, histories for {n}")
        if not self.known_names:
            return
        if len(self.known) != n:
            raise DataError(f"known covariates for {len(self.known)} series, histories for {n}")
        for i, (values, length) in enumerate(zip(self.known, lengths, strict=True)):
            want = (length + ahead, len(self.known_names))
            if values.shape != want:
                future = f" and the {ahead} steps forecast" if ahead else ""
                raise DataError(
                    f"series {i}: known covariate {self.known_names[0]!r} has "
                    f"{values.shape[0]} value(s); it needs one for each of the history's "
                    f"{length} point(s){future} ({want[0]})"
                )
            if not np.isfinite(values).all():
                row, col = np.argwhere(~np.isfinite(values))[0]
                raise DataError(
                    f"series {i}: known covariate {self.known_names[col]!r} has a missing or "
                    f"infinite value at step {row}"
                )

    def select(self, static_names: tuple[str, ...], known_names: tuple[str, ...]) -> Covariates:
        """These covariates in the order of the given names (a fitted model's); a name they
        lack is a ``DataError``."""
        missing = [n for n in static_names if n not in self.static_names] + [
            n for n in known_names if n not in self.known_names
        ]
        if missing:
            raise DataError(
                f"the covariates lack {_names(tuple(missing))}; the model was fitted with "
                f"static {_names(static_names)} and known {_names(known_names)}"
            )
        if (static_names, known_names) == (self.static_names, self.known_names):
            return self
        columns = [self.known_names.index(n) for n in known_names]
        return Covariates(
            static_names=static_names,
            known_names=known_names,
            static=tuple({n: row[n] for n in static_names} for row in self.static)
            if static_names
            else (),
            known=tuple(k[:, columns] for k in self.known) if known_names else (),
        )

    def digest_parts(self) -> list[Any]:
        """What a digest of these covariates reads (``reuse_forecasts``' keys)."""
        parts: list[Any] = [list(self.static_names), list(self.known_names)]
        parts += [[row.get(n) for n in self.static_names] for row in self.static]
        parts += list(self.known)
        return parts


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


def forget_reused() -> None:
    """Drop every fit and forecast ``reuse_forecasts`` holds (a study does when it ends: the
    next one measures its own; and the memory is freed)."""
    _REUSE.clear()
    _FITTED.clear()


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
    #: Whether it learns from covariates (``Covariates``); those that do not are given none.
    uses_covariates: ClassVar[bool] = False

    season_: int
    horizon_: int
    freq_: str | None
    fit_digest_: str
    #: The covariates the model was fitted with (forecasts need them): () for none.
    static_names_: tuple[str, ...] = ()
    known_names_: tuple[str, ...] = ()
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
        covariates: Covariates | None = None,
    ) -> Self:
        """Learn what the strategy learns from ``histories`` (nothing, for a model fitted per
        series at forecast time) and record the season length, horizon and frequency;
        ``covariates`` (known values: one per history point) for a strategy that uses them."""
        learned = self.settle(X, season=season, horizon=horizon, freq=freq, covariates=covariates)
        used = self._fitted_covariates(covariates)
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
        served = 0.0 if _ledger is None else _ledger.saved_s + _ledger.saved_fit_s
        if used is None:
            self._fit_series(learned)
        else:
            self._fit_covariates(learned, used)
        # What the fit costs uncached: parts served again inside it count their seconds.
        if _ledger is not None:
            served = _ledger.saved_s + _ledger.saved_fit_s - served
        self.fit_s_ = time.perf_counter() - started + served
        if _ledger is not None and learned:
            _FITTED[self.fit_digest_] = (dict(self.__dict__), self.fit_s_)
            while len(_FITTED) > _FITTED_ENTRIES:
                _FITTED.popitem(last=False)
        return self

    def settle(
        self,
        X: Any,
        *,
        season: int = 1,
        horizon: int = 1,
        freq: str | None = None,
        covariates: Covariates | None = None,
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
        self.static_names_, self.known_names_ = (), ()
        extra: list[Any] = []
        if self.takes_covariates() and covariates is not None and not covariates.empty:
            covariates.check([len(h) for h in histories], 0)
            self.static_names_ = covariates.static_names
            self.known_names_ = covariates.known_names
            extra = covariates.digest_parts()
        self.fit_digest_ = _digest(
            self.key, self.get_params(), self.season_, self.horizon_, self.freq_, *learned, *extra
        )
        self.fit_s_ = 0.0
        return learned

    def takes_covariates(self) -> bool:
        """Whether ``fit`` learns from covariates given to it (``uses_covariates``; a strategy
        may let its parameters switch them off)."""
        return self.uses_covariates

    def _fitted_covariates(self, covariates: Covariates | None) -> Covariates | None:
        """The covariates a fitted model forecasts with, in its fitted order (None: none)."""
        if not (self.static_names_ or self.known_names_):
            return None
        if covariates is None or covariates.empty:
            raise DataError(
                f"{self.key} was fitted with covariates (static {_names(self.static_names_)}, "
                f"known {_names(self.known_names_)}): pass them to forecast(..., covariates=...), "
                "the known ones for each history and the steps forecast"
            )
        return covariates.select(self.static_names_, self.known_names_)

    def _fit_covariates(self, histories: list[np.ndarray], covariates: Covariates) -> None:
        """Learn across series with covariates (a strategy with ``uses_covariates``)."""
        raise NotImplementedError

    def _forecast_covariates(
        self, histories: list[np.ndarray], horizon: int, covariates: Covariates
    ) -> Forecast:
        """``_forecast`` with covariates (a strategy with ``uses_covariates``)."""
        raise NotImplementedError

    def _fit_series(self, histories: list[np.ndarray]) -> None:
        """Learn across series (nothing by default)."""

    def _fit(self, X: Any, y: list[str] | None) -> None:  # pragma: no cover - fit is overridden
        raise NotImplementedError

    def forecast(
        self, histories: Any, horizon: int | None = None, *, covariates: Covariates | None = None
    ) -> Forecast:
        """The next ``horizon`` steps (default: the fitted horizon) after each history;
        ``covariates`` (known values: one per history point and step forecast) are needed by
        a model fitted with them and ignored by the others."""
        self._check_fitted()
        steps = self.horizon_ if horizon is None else int(horizon)
        if steps < 1:
            raise ValueError(f"horizon must be at least 1, not {steps}")
        given = as_histories(histories)
        used = self._fitted_covariates(covariates)
        if used is not None:
            used.check([len(h) for h in given], steps)
        key = ""
        if _ledger is not None and getattr(self, "fit_digest_", None):
            extra = [] if used is None else used.digest_parts()
            key = _digest(self.fit_digest_, steps, *given, *extra)
            if key in _REUSE:
                _REUSE.move_to_end(key)
                result, seconds, fallbacks = _REUSE[key]
                _ledger.hits += 1
                _ledger.saved_s += seconds
                self.fallbacks_ = fallbacks
                return result
        started = time.perf_counter()
        if used is None:
            result = self._forecast(given, steps)
        else:
            result = self._forecast_covariates(given, steps, used)
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

        state: dict[str, Any] = {"season": self.season_, "horizon": self.horizon_}
        state["freq"] = self.freq_
        if self.static_names_ or self.known_names_:  # written only when there are some
            state["static"], state["known"] = list(self.static_names_), list(self.known_names_)
        (path / "forecast.json").write_text(json.dumps(state))

    def _load_state(self, path: Any) -> None:
        import json

        state = json.loads((path / "forecast.json").read_text())
        self.season_, self.horizon_ = int(state["season"]), int(state["horizon"])
        self.freq_ = state["freq"]
        self.static_names_ = tuple(str(n) for n in state.get("static", []))
        self.known_names_ = tuple(str(n) for n in state.get("known", []))
