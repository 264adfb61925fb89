"""Covariates through the forecasting strategies' API: the boosted model learns from them,
saves and loads them without pickle, refuses to forecast without them; every other strategy
ignores them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossover.errors import DataError
from crossover.strategies import Strategy
from crossover.strategies.forecast import ForecastGbm, ForecastSeasonalNaive
from crossover.strategies.forecast._base import Covariates, reuse_forecasts

SMALL = {"n_estimators": 40, "learning_rate": 0.1}
HORIZON = 6


def panel(
    count: int = 12, n: int = 60, seed: int = 0
) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Series (``n + HORIZON`` points) whose promotion steps (a 0/1 known covariate) double
    the value; a category ("a"/"b") sets the level. Returns the series, their promotion
    flags and their categories."""
    rng = np.random.default_rng(seed)
    series, flags, kinds = [], [], []
    for i in range(count):
        kind = "ab"[i % 2]
        flag = (rng.random(n + HORIZON) < 0.25).astype(float)
        level = 10.0 if kind == "a" else 100.0
        series.append(level * (1 + flag) * (1 + 0.02 * rng.normal(size=n + HORIZON)))
        flags.append(flag)
        kinds.append(kind)
    return series, flags, kinds


def covariates(flags: list[np.ndarray], kinds: list[str], stop: int | None = None) -> Covariates:
    return Covariates.of(
        static=[{"kind": k} for k in kinds],
        known=[{"promo": f[:stop] if stop is not None else f} for f in flags],
    )


def fitted() -> tuple[ForecastGbm, list[np.ndarray], Covariates]:
    series, flags, kinds = panel()
    histories = [s[:-HORIZON] for s in series]
    model = ForecastGbm(**SMALL).fit(
        histories, season=1, horizon=HORIZON, covariates=covariates(flags, kinds, -HORIZON)
    )
    return model, histories, covariates(flags, kinds)


def test_gbm_forecasts_the_promotions_it_is_told_of() -> None:
    series, flags, _ = panel()
    model, histories, future = fitted()
    assert model.static_names_ == ("kind",) and model.known_names_ == ("promo",)
    assert model.categories_ == {"kind": ["a", "b"]}
    mean = model.forecast(histories, covariates=future).mean
    truth = np.stack([s[-HORIZON:] for s in series])
    errors = np.abs(mean - truth) / truth
    assert np.median(errors) < 0.1  # a promotion doubles the value: without it, 30 % off
    promo = np.stack([f[-HORIZON:] for f in flags]) > 0
    assert (mean[promo] / truth[promo]).mean() > 0.85


def test_a_model_fitted_with_covariates_refuses_to_forecast_without_them() -> None:
    model, histories, future = fitted()
    with pytest.raises(DataError, match=r"forecast.gbm was fitted with covariates \(static "):
        model.forecast(histories)
    with pytest.raises(DataError, match=r"forecast.gbm was fitted with covariates"):
        model.predict(histories)
    short = Covariates.of(
        static=list(future.static), known=[{"promo": k[:-1, 0]} for k in future.known]
    )
    with pytest.raises(
        DataError, match=r"series 0: known covariate 'promo' has 65 value\(s\); it needs one "
    ):
        model.forecast(histories, covariates=short)
    other = Covariates.of(
        static=list(future.static), known=[{"price": k[:, 0]} for k in future.known]
    )
    with pytest.raises(DataError, match=r"the covariates lack 'promo'"):
        model.forecast(histories, covariates=other)


def test_gbm_saves_and_loads_its_covariates_without_pickle(tmp_path: Path) -> None:
    model, histories, future = fitted()
    folder = model.save(tmp_path / "model")
    assert not [p for p in folder.rglob("*") if p.suffix in {".pkl", ".pickle", ".joblib"}]
    loaded = Strategy.load(folder)
    assert isinstance(loaded, ForecastGbm)
    assert loaded.static_names_ == ("kind",) and loaded.known_names_ == ("promo",)
    assert loaded.categories_ == {"kind": ["a", "b"]}
    before, after = (
        model.forecast(histories, covariates=future),
        loaded.forecast(histories, covariates=future),
    )
    np.testing.assert_array_equal(before.mean, after.mean)
    np.testing.assert_array_equal(before.quantiles, after.quantiles)  # type: ignore[arg-type]


def test_an_unseen_category_is_forecast_as_a_missing_one() -> None:
    model, histories, future = fitted()
    unseen = Covariates.of(
        static=[{"kind": "zzz"}] * len(histories), known=[{"promo": k[:, 0]} for k in future.known]
    )
    missing = Covariates.of(
        static=[{"kind": None}] * len(histories), known=[{"promo": k[:, 0]} for k in future.known]
    )
    a = model.forecast(histories, covariates=unseen).mean
    np.testing.assert_array_equal(a, model.forecast(histories, covariates=missing).mean)
    assert np.isfinite(a).all()


def test_without_covariates_or_with_them_switched_off_the_gbm_is_the_one_of_before() -> None:
    series, flags, kinds = panel(count=6)
    histories = [s[:-HORIZON] for s in series]
    plain = ForecastGbm(**SMALL).fit(histories, season=1, horizon=HORIZON)
    off = ForecastGbm(covariates=False, **SMALL).fit(
        histories, season=1, horizon=HORIZON, covariates=covariates(flags, kinds, -HORIZON)
    )
    assert off.known_names_ == () and off.static_names_ == ()
    np.testing.assert_array_equal(
        plain.forecast(histories).mean,
        off.forecast(histories, covariates=covariates(flags, kinds)).mean,
    )


def test_other_strategies_ignore_covariates() -> None:
    series, flags, kinds = panel(count=4)
    histories = [s[:-HORIZON] for s in series]
    naive = ForecastSeasonalNaive().fit(
        histories, season=1, horizon=HORIZON, covariates=covariates(flags, kinds, -HORIZON)
    )
    assert not naive.uses_covariates and naive.known_names_ == ()
    plain = ForecastSeasonalNaive().fit(histories, season=1, horizon=HORIZON)
    assert naive.fit_digest_ == plain.fit_digest_
    np.testing.assert_array_equal(
        naive.forecast(histories).mean,
        naive.forecast(histories, covariates=covariates(flags, kinds)).mean,
    )


def test_a_forecast_with_other_future_covariates_is_not_served_again() -> None:
    """``reuse_forecasts`` keys a covariate model's forecast by its covariates too."""
    model, histories, future = fitted()
    flipped = Covariates.of(
        static=list(future.static), known=[{"promo": 1.0 - k[:, 0]} for k in future.known]
    )
    with reuse_forecasts() as ledger:
        first = model.forecast(histories, covariates=future).mean
        again = model.forecast(histories, covariates=future).mean
        other = model.forecast(histories, covariates=flipped).mean
    assert ledger.hits == 1
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
