"""Hybrid ``forecast.ensemble``: the pre-trained forecaster and the custom ones, combined.

A weighted mean of its members' forecasts, the weights chosen on the histories it is fitted on
and nothing after them. ``fit`` holds out the last ``horizon`` points of each history, fits
every member on what comes before and forecasts the held-out points, then picks the
non-negative weights summing to 1 that minimise the mean MASE of the combined point forecast
(each series scaled by its own in-sample seasonal-naive error, ``scale_mase``, as the task
scores it). Mean absolute error is linear in the weights inside each absolute value, so that
minimum is a linear programme, solved exactly (scipy's HiGHS) rather than on a grid.
Last, each member with a weight above 0 is fitted on the whole histories; a member weighted 0
is neither refitted, nor run, nor saved (``weights_`` still lists it, at 0).

In a backtest the strategy is fitted on the points before each window's cut-off, so its
weights come from the last ``horizon`` points before that cut-off: the window it is scored on
never reaches them. Those are the points the window before forecast (its windows are a horizon
apart): in a study, where the members' own trials come first, ``reuse_forecasts`` serves the
ensemble its members' fits and forecasts of that window and of its own, so it makes only the
earliest window's held-out ones (their seconds are charged back to it all the same).

The members are named by their keys (``MEMBERS``: the forecasters an ensemble can hold, each
imported when used). By default ``forecast.fracast`` (pre-trained, zero-shot) and
``forecast.ets`` (AutoETS per series), and ``forecast.gbm`` where this installation has it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossover.errors import ConfigError
from crossover.strategies.forecast._base import QUANTILES, Covariates, Forecast, ForecastStrategy
from crossover.strategies.registry import register
from crossover.tasks.forecasting.metrics import scale_mase
from crossover.tasks.forecasting.series import MIN_TRAIN

__all__ = ["DEFAULT_MEMBERS", "MEMBERS", "ForecastEnsemble", "member_class"]

_STATISTICAL = "crossover.strategies.forecast.statistical"
#: The forecasters an ensemble can hold: key -> (module, class name), imported when used.
MEMBERS: dict[str, tuple[str, str]] = {
    "forecast.arima": (_STATISTICAL, "ForecastArima"),
    # optional: its weights are on the Hugging Face hub only (not a default member)
    "forecast.chronos": ("crossover.strategies.forecast.chronos", "ForecastChronos"),
    "forecast.ets": (_STATISTICAL, "ForecastEts"),
    "forecast.fracast": ("crossover.strategies.forecast.pretrained", "ForecastFracast"),
    "forecast.gbm": ("crossover.strategies.forecast.gbm", "ForecastGbm"),
    "forecast.seasonal-naive": (_STATISTICAL, "ForecastSeasonalNaive"),
}
#: A weight below this is rounding from the solver: the member is dropped.
_NEGLIGIBLE = 1e-9
_STATE = "ensemble.json"
_MEMBERS_DIR = "members"


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


#: The members by default: the pre-trained forecaster, AutoETS, and the gradient-boosted
#: forecaster where this installation has its module.
DEFAULT_MEMBERS: tuple[str, ...] = ("forecast.fracast", "forecast.ets") + (
    ("forecast.gbm",) if _has_module(MEMBERS["forecast.gbm"][0]) else ()
)


def member_class(key: str) -> type[ForecastStrategy]:
    """The class of the member ``key`` (one of ``MEMBERS``), its module imported now."""
    spec = MEMBERS.get(key)
    if spec is None:
        raise ConfigError(
            f"{key!r} is not a forecaster an ensemble can hold; use some of {sorted(MEMBERS)}"
        )
    module, name = spec
    try:
        cls: type[ForecastStrategy] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"ensemble member {key}: {module}.{name} cannot be imported ({exc})"
        ) from exc
    assert issubclass(cls, ForecastStrategy)
    return cls


def _cut(covariates: Covariates, rows: list[int], lengths: list[int]) -> Covariates:
    """The covariates of series ``rows``, their known values cut to ``lengths`` steps."""
    return Covariates(
        static_names=covariates.static_names,
        known_names=covariates.known_names,
        static=tuple(covariates.static[i] for i in rows) if covariates.static else (),
        known=tuple(covariates.known[i][:n] for i, n in zip(rows, lengths, strict=True))
        if covariates.known
        else (),
    )


def _mean_mase(forecast: np.ndarray, actual: np.ndarray, scales: np.ndarray) -> float:
    """Mean over series of each one's mean absolute error over its scale."""
    return float(np.mean(np.abs(actual - forecast).mean(axis=1) / scales))


def _best_weights(forecasts: np.ndarray, actual: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The weights (k,), non-negative and summing to 1, of ``forecasts`` (k, series, horizon)
    whose combination has the least mean MASE against ``actual`` (series, horizon).

    The linear programme, with each residual split into its positive and negative parts:
    minimise ``sum(p + n)`` subject to ``F w + p - n = y`` (rows scaled by each series' MASE
    scale; every series has ``horizon`` steps, so the sum is the mean MASE times a constant),
    ``sum w = 1`` and ``w, p, n >= 0``. HiGHS' interior-point method, then its crossover to a
    vertex, solves 1,428 series x 18 steps of three members in about a second here (its
    simplex took ten).
    Should it fail, the best single member gets all the weight.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    k = forecasts.shape[0]
    inverse = (1.0 / scales)[:, None]
    f = sparse.csr_matrix((forecasts * inverse).reshape(k, -1).T)
    y = (actual * inverse).reshape(-1)
    eye = sparse.identity(len(y), format="csr")
    a_eq = sparse.vstack(
        [
            sparse.hstack([f, eye, -eye]),
            sparse.hstack([np.ones((1, k)), sparse.csr_matrix((1, 2 * len(y)))]),
        ],
        format="csr",
    )
    b_eq = np.concatenate([y, [1.0]])
    cost = np.concatenate([np.zeros(k), np.ones(2 * len(y))])
    result = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs-ipm")
    if result.status != 0:  # pragma: no cover - a feasible, bounded LP; kept for safety
        weights = np.zeros(k)
        weights[np.argmin([_mean_mase(m, actual, scales) for m in forecasts])] = 1.0
        return weights
    weights = np.clip(np.asarray(result.x[:k], dtype=np.float64), 0.0, None)
    weights[weights < _NEGLIGIBLE] = 0.0
    return np.asarray(weights / weights.sum())


@register
class ForecastEnsemble(ForecastStrategy):
    """Its members' forecasts averaged with weights chosen on the last ``horizon`` points of
    the histories it is fitted on (module docstring).

    The point forecast is the weighted mean of the members' point forecasts; each quantile the
    weighted mean of the members' forecasts at that level (a member without quantiles counts
    its point forecast at every level), then sorted per step. With non-negative weights the
    mean of ordered quantiles is already ordered; the sort keeps the promise should a member's
    own quantiles cross.

    Parameters
    ----------
    members : sequence of str, default=DEFAULT_MEMBERS
        The keys of the forecasters it combines, each one of ``MEMBERS``, each fitted with its
        default parameters and this ``random_state``.
    random_state : int, default=0
        Passed to every member.

    Attributes
    ----------
    weights_ : dict of str to float
        Each member's weight (all of them, 0 included), summing to 1; 1 for a single member.
        The weights are chosen on the histories that keep at least ``max(2, season + 1)``
        points before the held-out ``horizon`` and are not constant there; equal weights when
        there are none.
    validation_mase_ : dict of str to float
        On the held-out points, the mean MASE of each member and, under ``forecast.ensemble``,
        of the combination; empty when nothing was held out.
    validation_series_ : int
        The histories the weights were chosen on.
    members_ : dict of str to ForecastStrategy
        The fitted members with a weight above 0.
    """

    key = "forecast.ensemble"
    kind = "hybrid"
    summary = "the pre-trained forecaster and custom ones averaged, weights from the history"
    # The members' keys by default: the cost model prices it at least at theirs.
    contains = DEFAULT_MEMBERS
    #: It passes covariates to its members that learn from them (``takes_covariates``).
    uses_covariates = True
    #: It learns from the series (its weights), so ``fit`` gives it the histories.
    needs_labels = True

    weights_: dict[str, float]
    validation_mase_: dict[str, float]
    validation_series_: int
    members_: dict[str, ForecastStrategy]
    fallbacks_: int = 0

    def __init__(self, *, members: Sequence[str] = DEFAULT_MEMBERS, random_state: int = 0) -> None:
        self.members = members
        self.random_state = random_state

    @classmethod
    def unavailable_reason(cls) -> str | None:
        for key in DEFAULT_MEMBERS:
            try:
                reason = member_class(key).unavailable_reason()
            except ConfigError as exc:
                return str(exc)
            if reason is not None:
                return f"its member {key}: {reason}"
        return None

    def requirements(self) -> list[str]:
        names = set(super().requirements())
        for key in self._keys():
            names.update(self._new(key).requirements())
        return sorted(names)

    # -- the members ------------------------------------------------------------------------

    def _keys(self) -> tuple[str, ...]:
        if isinstance(self.members, str):
            raise ConfigError(
                f"members must be a list of keys, not the string {self.members!r}: "
                f"write members=[{self.members!r}]"
            )
        keys = tuple(str(k) for k in self.members)
        if not keys:
            raise ConfigError(f"an ensemble needs at least one member; some of {sorted(MEMBERS)}")
        if len(set(keys)) != len(keys):
            raise ConfigError(f"members {list(keys)} name one forecaster twice")
        return keys

    def _new(self, key: str, **settings: Any) -> ForecastStrategy:
        """The member ``key`` with this ``random_state`` and those of ``settings`` it has."""
        cls = member_class(key)
        names = cls._param_names()
        params = {"random_state": self.random_state, **settings}
        return cls(**{name: value for name, value in params.items() if name in names})

    def _fit_member(
        self,
        key: str,
        histories: list[np.ndarray],
        covariates: Covariates | None = None,
        **settings: Any,
    ) -> ForecastStrategy:
        return self._new(key, **settings).fit(
            histories,
            season=self.season_,
            horizon=self.horizon_,
            freq=self.freq_,
            covariates=covariates,
        )

    def takes_covariates(self) -> bool:
        """Whether a member learns from covariates (the GBM): the ensemble then passes them."""
        return any(self._new(key).takes_covariates() for key in self._keys())

    # -- training and prediction ------------------------------------------------------------

    def _fit_series(self, histories: list[np.ndarray]) -> None:
        self._fit_with(histories, None)

    def _fit_covariates(self, histories: list[np.ndarray], covariates: Covariates) -> None:
        self._fit_with(histories, covariates)

    def _fit_with(self, histories: list[np.ndarray], covariates: Covariates | None) -> None:
        keys = self._keys()
        for key in keys:
            reason = member_class(key).unavailable_reason()
            if reason is not None:
                raise ConfigError(f"ensemble member {key} cannot run here: {reason}")
        self.validation_mase_, self.validation_series_ = {}, 0
        weights = (
            np.ones(1) if len(keys) == 1 else self._choose_weights(keys, histories, covariates)
        )
        self.weights_ = {k: float(w) for k, w in zip(keys, weights, strict=True)}
        self.members_ = {
            k: self._fit_member(k, histories, covariates) for k, w in self.weights_.items() if w > 0
        }

    def _choose_weights(
        self,
        keys: tuple[str, ...],
        histories: list[np.ndarray],
        covariates: Covariates | None = None,
    ) -> np.ndarray:
        """The weights from holding out the last ``horizon`` points (equal when none can be);
        ``covariates`` go with ``histories`` (the known ones of the held-out points too: they
        are known in advance)."""
        h, season = self.horizon_, self.season_
        rows, actual, scales = [], [], []
        for i, history in enumerate(histories):
            if len(history) - h < max(2, season + 1):
                continue  # too short to hold out and still have a seasonal scale
            before = history[: len(history) - h]
            scale = scale_mase(before, season)
            if np.isfinite(scale):  # NaN: a constant past, which MASE leaves out too
                rows.append(i)
                actual.append(history[-h:])
                scales.append(scale)
        if not rows:
            return np.full(len(keys), 1.0 / len(keys))
        # The members forecast every history less its last horizon when each keeps
        # MIN_TRAIN points (in a backtest those are the histories of the window before, whose
        # fits and forecasts the members' own trials already made: reuse_forecasts serves
        # them), else only those the weights are chosen on.
        every = all(len(history) - h >= MIN_TRAIN for history in histories)
        used = list(range(len(histories))) if every else rows
        past = [histories[i][: len(histories[i]) - h] for i in used]
        fit_with = ahead = None
        if covariates is not None:
            fit_with = _cut(covariates, used, [len(p) for p in past])
            ahead = _cut(covariates, used, [len(p) + h for p in past])
        y, s = np.stack(actual), np.asarray(scales)
        pick = rows if every else slice(None)
        # Only point forecasts count here: a member with conformal quantiles skips fitting
        # them (calibrate=False; the GBM's point forecasts are the same either way, and its
        # fit without them is the one its own calibration made: reuse_forecasts serves it).
        forecasts = np.stack(
            [
                self._fit_member(k, past, fit_with, calibrate=False)
                .forecast(past, h, covariates=ahead)
                .mean[pick]
                for k in keys
            ]
        )
        weights = _best_weights(forecasts, y, s)
        self.validation_series_ = len(rows)
        self.validation_mase_ = {
            k: _mean_mase(f, y, s) for k, f in zip(keys, forecasts, strict=True)
        }
        combined = np.tensordot(weights, forecasts, axes=1)
        self.validation_mase_[self.key] = _mean_mase(combined, y, s)
        return weights

    def _forecast(self, histories: list[np.ndarray], horizon: int) -> Forecast:
        return self._forecast_with(histories, horizon, None)

    def _forecast_covariates(
        self, histories: list[np.ndarray], horizon: int, covariates: Covariates
    ) -> Forecast:
        return self._forecast_with(histories, horizon, covariates)

    def _forecast_with(
        self, histories: list[np.ndarray], horizon: int, covariates: Covariates | None
    ) -> Forecast:
        mean = np.zeros((len(histories), horizon))
        quantiles = np.zeros((len(histories), horizon, len(QUANTILES)))
        fallbacks = 0
        for key, member in self.members_.items():
            weight = self.weights_[key]
            result = member.forecast(histories, horizon, covariates=covariates)
            fallbacks += int(getattr(member, "fallbacks_", 0))
            levels = result.quantiles
            if levels is None:
                levels = np.repeat(result.mean[:, :, None], len(QUANTILES), axis=-1)
            mean += weight * result.mean
            quantiles += weight * levels
        self.fallbacks_ = fallbacks
        return Forecast(mean=mean, quantiles=np.sort(quantiles, axis=-1))

    # -- persistence and footprint -----------------------------------------------------------

    def _save_state(self, path: Path) -> None:
        super()._save_state(path)
        for key, member in self.members_.items():
            member.save(path / _MEMBERS_DIR / key)
        state = {
            "weights": self.weights_,
            "validation_mase": self.validation_mase_,
            "validation_series": self.validation_series_,
        }
        (path / _STATE).write_text(json.dumps(state, indent=2))

    def _load_state(self, path: Path) -> None:
        super()._load_state(path)
        state: dict[str, Any] = json.loads((path / _STATE).read_text())
        self.weights_ = {str(k): float(w) for k, w in state["weights"].items()}
        self.validation_mase_ = {str(k): float(v) for k, v in state["validation_mase"].items()}
        self.validation_series_ = int(state["validation_series"])
        self.members_ = {}
        for key, weight in self.weights_.items():
            if weight > 0:
                member = member_class(key).load(path / _MEMBERS_DIR / key)
                assert isinstance(member, ForecastStrategy)  # load checks the saved key
                self.members_[key] = member

    def _parameter_count(self) -> int:
        return sum(m._parameter_count() for m in self.members_.values())

    def _external_bytes(self) -> int:
        return sum(m._external_bytes() for m in self.members_.values())
