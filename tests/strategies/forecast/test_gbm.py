"""``forecast.gbm``: one LightGBM model across series, on small panels with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossover.strategies.forecast import ForecastGbm
from crossover.strategies.forecast._base import QUANTILES

#: Small models keep each test well under a second.
SMALL = {"n_estimators": 60, "learning_rate": 0.1}


def panel(count: int = 12, n: int = 72, noise: float = 0.2, seed: int = 0) -> list[np.ndarray]:
    """Monthly patterns on levels from 10 to 1,000 (one model must serve every size), each
    series ``n + 12`` points long: the last 12 are the truth."""
    rng = np.random.default_rng(seed)
    pattern = np.array([5, 3, 1, 0, -2, -4, -5, -3, -1, 0, 2, 4], dtype=float) / 100
    out = []
    for i in range(count):
        level = 10.0 ** (1 + 2 * i / max(count - 1, 1))
        shift = np.roll(pattern, i)  # different phases
        out.append(level * (1 + np.resize(shift, n + 12) + noise / 100 * rng.normal(size=n + 12)))
    return out


def test_gbm_follows_clean_seasons_of_every_size() -> None:
    series = panel()
    histories = [s[:-12] for s in series]
    model = ForecastGbm(**SMALL).fit(histories, season=12, horizon=12)
    result = model.forecast(histories)
    assert result.mean.shape == (12, 12)
    errors, naive = [], []
    for s, forecast in zip(series, result.mean, strict=True):
        level = s[:-12].mean()
        errors.append(np.abs(forecast - s[-12:]).mean() / level)
        naive.append(np.abs(s[-24:-12] - s[-12:]).mean() / level)
    # the pattern swings by 10 % of the level and the noise is 0.2 %: within 1 % follows it
    assert max(errors) < 0.01
    assert np.mean(errors) < 1.5 * np.mean(naive)  # as good as repeating the last season
    assert model.fallbacks_ == 0


def test_gbm_quantiles_are_ordered_around_the_point_forecast() -> None:
    histories = [s[:-12] for s in panel(noise=1.0)]
    result = ForecastGbm(**SMALL).fit(histories, season=12, horizon=12).forecast(histories)
    q = result.quantiles
    assert q is not None and q.shape == (12, 12, len(QUANTILES))
    assert (np.diff(q, axis=-1) >= 0).all()
    assert (q[:, :, -1] > q[:, :, 0]).mean() > 0.9  # a real spread
    median = q[:, :, QUANTILES.index(0.5)]
    width = q[:, :, -1] - q[:, :, 0]
    assert (np.abs(median - result.mean) <= width / 2).all()


def test_gbm_without_calibration_gives_the_point_forecast_in_every_quantile() -> None:
    histories = [s[:-12] for s in panel(count=4)]
    result = (
        ForecastGbm(calibrate=False, multi_step="recursive", **SMALL)
        .fit(histories, season=12, horizon=6)
        .forecast(histories)
    )
    assert result.quantiles is not None
    np.testing.assert_allclose(result.quantiles[:, :, 0], result.mean)


def test_gbm_saves_and_loads_the_same_forecasts(tmp_path: Path) -> None:
    histories = [s[:-12] for s in panel(count=6)]
    model = ForecastGbm(**SMALL).fit(histories, season=12, horizon=6, freq="MS")
    loaded = ForecastGbm.load(model.save(tmp_path / "m"))
    assert isinstance(loaded, ForecastGbm)
    assert (loaded.season_, loaded.horizon_, loaded.freq_) == (12, 6, "MS")
    assert not list((tmp_path / "m").glob("*.pkl"))
    before, after = model.forecast(histories), loaded.forecast(histories)
    np.testing.assert_allclose(after.mean, before.mean)
    assert after.quantiles is not None and before.quantiles is not None
    np.testing.assert_allclose(after.quantiles, before.quantiles)
    assert loaded.footprint()["parameters"] > 0


def test_gbm_same_seed_same_forecast_and_another_seed_differs() -> None:
    histories = [s[:-12] for s in panel(count=6, noise=2.0)]

    def run(seed: int) -> np.ndarray:
        model = ForecastGbm(random_state=seed, **SMALL).fit(histories, season=12, horizon=6)
        return model.forecast(histories).mean

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_gbm_forecast_does_not_depend_on_its_thread_count() -> None:
    """The default takes every CPU: a study, an export and a server must forecast alike
    whatever the machine's core count."""
    histories = [s[:-12] for s in panel(count=40, noise=2.0)]

    def run(threads: int) -> np.ndarray:
        model = ForecastGbm(n_jobs=threads, **SMALL).fit(histories, season=12, horizon=6)
        return model.forecast(histories).quantiles

    np.testing.assert_array_equal(run(1), run(2))


def test_gbm_forecasts_short_histories() -> None:
    histories = [s[:-12] for s in panel(count=6)]
    model = ForecastGbm(**SMALL).fit(histories, season=12, horizon=6)
    short = [histories[0][-15:], histories[1][-5:], np.array([7.0])]
    result = model.forecast(short)
    assert result.mean.shape == (3, 6) and np.isfinite(result.mean).all()
    assert model.fallbacks_ == 2  # under one season: the seasonal naive
    np.testing.assert_allclose(result.mean[2], 7.0)
    assert result.quantiles is not None and np.isfinite(result.quantiles).all()


def test_gbm_fits_on_histories_too_short_to_learn_from() -> None:
    model = ForecastGbm(**SMALL).fit([np.arange(5.0), np.ones(3)], season=12, horizon=4)
    result = model.forecast([np.arange(5.0)])
    np.testing.assert_allclose(result.mean[0], [4.0] * 4)
    assert model.fallbacks_ == 1


@pytest.mark.parametrize("multi_step", ["recursive", "direct"])
def test_gbm_each_multi_step_method_forecasts_beyond_its_horizon(multi_step: str) -> None:
    histories = [s[:-12] for s in panel(count=4)]
    model = ForecastGbm(multi_step=multi_step, **SMALL).fit(histories, season=12, horizon=6)
    result = model.forecast(histories, horizon=15)
    assert result.mean.shape == (4, 15) and np.isfinite(result.mean).all()
    with pytest.raises(ValueError, match=r"multi_step='nope'"):
        ForecastGbm(multi_step="nope").fit(histories, season=12, horizon=6)
