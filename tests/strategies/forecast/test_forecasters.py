"""The forecasting strategies on small series with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossover.errors import DataError, ModelError
from crossover.models.forecasters import resolve_forecaster
from crossover.strategies.forecast import (
    ForecastArima,
    ForecastEts,
    ForecastFracast,
    ForecastSeasonalNaive,
)
from crossover.strategies.forecast._base import QUANTILES, quantiles_from_levels


def seasonal(n: int = 72, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A monthly pattern on a level of 100, with optional noise."""
    rng = np.random.default_rng(seed)
    pattern = np.array([5, 3, 1, 0, -2, -4, -5, -3, -1, 0, 2, 4], dtype=float)
    return 100 + np.resize(pattern, n) + noise * rng.normal(size=n)


def test_seasonal_naive_repeats_the_last_season() -> None:
    history = seasonal(36)
    model = ForecastSeasonalNaive().fit([history], season=12, horizon=18)
    result = model.forecast([history])
    np.testing.assert_allclose(result.mean[0], np.resize(history[-12:], 18))
    assert result.quantiles is not None and result.quantiles.shape == (1, 18, len(QUANTILES))
    assert (np.diff(result.quantiles, axis=-1) >= 0).all()


def test_seasonal_naive_without_a_full_season_repeats_the_last_value() -> None:
    model = ForecastSeasonalNaive().fit([np.arange(5.0)], season=12, horizon=3)
    np.testing.assert_allclose(model.forecast([np.arange(5.0)]).mean[0], [4.0, 4.0, 4.0])


@pytest.mark.parametrize("cls", [ForecastEts, ForecastArima])
def test_statistical_models_follow_a_clean_season(cls: type) -> None:
    history = seasonal(72, noise=0.1)
    model = cls().fit([history], season=12, horizon=12)
    result = model.forecast([history, history[:60]])
    truth = seasonal(84)[72:]
    assert result.mean.shape == (2, 12)
    assert np.abs(result.mean[0] - truth).mean() < 1.0  # the pattern's swing is 10
    q = result.quantiles
    assert q is not None
    median = q[:, :, QUANTILES.index(0.5)]
    np.testing.assert_allclose(median, result.mean)
    assert (q[:, :, -1] >= q[:, :, 0]).all()
    assert model.fallbacks_ == 0


def test_a_series_a_model_cannot_fit_falls_back_and_is_counted() -> None:
    model = ForecastEts().fit([np.ones(3)], season=12, horizon=4)
    result = model.forecast([np.array([1.0, 2.0]), seasonal(40)])
    assert np.isfinite(result.mean).all() and result.mean.shape == (2, 4)


def test_histories_that_are_not_numbers_are_named() -> None:
    model = ForecastSeasonalNaive().fit([seasonal(24)], season=12, horizon=3)
    with pytest.raises(DataError, match=r"history 1 has a missing or infinite value at position 2"):
        model.forecast([seasonal(24), np.array([1.0, 2.0, np.nan])])
    with pytest.raises(DataError, match=r"history 0 is empty"):
        model.forecast([[]])


def test_quantiles_from_intervals_are_ordered() -> None:
    out = {"mean": np.array([10.0])}
    for level, half in ((20, 1.0), (40, 2.0), (60, 3.0), (80, 4.0)):
        out[f"lo-{level}"] = np.array([10.0 - half])
        out[f"hi-{level}"] = np.array([10.0 + half])
    np.testing.assert_allclose(quantiles_from_levels(out)[0], [6, 7, 8, 9, 10, 11, 12, 13, 14])


def test_fracast_resolves_offline_from_its_package() -> None:
    resolved = resolve_forecaster("ztxtech/fracast-0")
    assert resolved.source in {"package", "hf-cache"} and resolved.family == "fracast"
    with pytest.raises(ModelError, match=r"no such forecaster folder"):
        resolve_forecaster("./nowhere")


def test_fracast_forecasts_a_season_it_never_trained_on() -> None:
    history = seasonal(96, noise=0.2)
    model = ForecastFracast().fit([], season=12, horizon=12)
    result = model.forecast([history, history[-40:], np.arange(5.0)])
    truth = seasonal(108)[96:]
    naive = np.abs(np.resize(history[-12:], 12) - truth).mean()
    assert np.abs(result.mean[0] - truth).mean() < max(2.0, 3 * naive)
    assert result.quantiles is not None and (np.diff(result.quantiles, axis=-1) >= 0).all()
    assert model.fallbacks_ == 1  # five points: below the eight the model reads
    long = model.forecast([history], horizon=60).mean  # beyond its 48-step block
    assert long.shape == (1, 60) and np.isfinite(long).all()


def test_a_fitted_forecaster_saves_and_loads(tmp_path: Path) -> None:
    history = seasonal(48, noise=0.3)
    model = ForecastEts().fit([history], season=12, horizon=6, freq="MS")
    loaded = ForecastEts.load(model.save(tmp_path / "m"))
    assert isinstance(loaded, ForecastEts)
    assert (loaded.season_, loaded.horizon_, loaded.freq_) == (12, 6, "MS")
    np.testing.assert_allclose(loaded.forecast([history]).mean, model.forecast([history]).mean)
