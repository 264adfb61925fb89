"""forecast.ensemble: weights chosen on the histories' last points, members combined."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossover.errors import ConfigError, DataError
from crossover.strategies.forecast import ForecastEnsemble, ForecastEts, ForecastSeasonalNaive
from crossover.strategies.forecast.ensemble import DEFAULT_MEMBERS, _best_weights
from crossover.tasks.forecasting.evaluate import backtest
from crossover.tasks.forecasting.series import Panel, Series

CHEAP = ("forecast.seasonal-naive", "forecast.ets")
PATTERN = np.array([5, 3, 1, 0, -2, -4, -5, -3, -1, 0, 2, 4], dtype=float)


def repeating(n_series: int = 6, length: int = 28, seed: int = 0) -> list[np.ndarray]:
    """Monthly series whose pattern repeats exactly after their first six points (noisy, so
    that the seasonal-naive scale is not 0). Holding out the last 6 of 28 points leaves 22:
    the seasonal naive is exact there, AutoETS has under two seasons so fits no season."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_series):
        y = 50 + 10 * i + np.resize(PATTERN, length)
        y[:6] += 2 * rng.normal(size=6)
        out.append(y)
    return out


def noisy(n_series: int = 5, length: int = 48, seed: int = 1) -> list[np.ndarray]:
    """Seasonal series with noise and a drift: no member is exact."""
    rng = np.random.default_rng(seed)
    steps = np.arange(length)
    return [
        100 + 0.3 * i * steps + np.resize(PATTERN, length) + 2 * rng.normal(size=length)
        for i in range(n_series)
    ]


def test_ensemble_weights_are_non_negative_and_sum_to_one() -> None:
    model = ForecastEnsemble(members=CHEAP).fit(noisy(), season=12, horizon=6)
    weights = np.array(list(model.weights_.values()))
    assert list(model.weights_) == list(CHEAP)
    assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
    assert model.validation_series_ == 5
    assert set(model.validation_mase_) == {*CHEAP, "forecast.ensemble"}
    # The combination is chosen among all of them, the members alone included.
    best_member = min(model.validation_mase_[k] for k in CHEAP)
    assert model.validation_mase_["forecast.ensemble"] <= best_member + 1e-9


def test_ensemble_gives_the_exact_member_all_the_weight() -> None:
    model = ForecastEnsemble(members=CHEAP).fit(repeating(), season=12, horizon=6)
    assert model.weights_["forecast.seasonal-naive"] == pytest.approx(1.0, abs=1e-6)
    assert model.validation_mase_["forecast.seasonal-naive"] == pytest.approx(0.0)
    assert model.validation_mase_["forecast.ets"] > 1.0
    # A member weighted 0 is not kept: the forecast is the seasonal naive's.
    assert list(model.members_) == ["forecast.seasonal-naive"]
    histories = repeating()
    expected = ForecastSeasonalNaive().fit(histories, season=12, horizon=6).forecast(histories)
    np.testing.assert_allclose(model.forecast(histories).mean, expected.mean)


def test_ensemble_quantiles_are_ordered_and_the_weighted_mean_of_the_members() -> None:
    histories = noisy()
    model = ForecastEnsemble(members=CHEAP).fit(histories, season=12, horizon=6)
    result = model.forecast(histories, horizon=9)
    assert result.mean.shape == (5, 9) and result.quantiles is not None
    assert (np.diff(result.quantiles, axis=-1) >= 0).all()
    parts = {
        "forecast.seasonal-naive": ForecastSeasonalNaive(),
        "forecast.ets": ForecastEts(),
    }
    expected = sum(
        model.weights_[k] * m.fit(histories, season=12, horizon=6).forecast(histories, 9).mean
        for k, m in parts.items()
    )
    np.testing.assert_allclose(result.mean, expected)


def test_ensemble_saves_and_loads_with_equal_forecasts(tmp_path: Path) -> None:
    histories = noisy()
    model = ForecastEnsemble(members=CHEAP).fit(histories, season=12, horizon=6, freq="MS")
    loaded = ForecastEnsemble.load(model.save(tmp_path / "m"))
    assert isinstance(loaded, ForecastEnsemble)
    assert loaded.weights_ == model.weights_
    assert loaded.validation_mase_ == model.validation_mase_
    assert (loaded.season_, loaded.horizon_, loaded.freq_) == (12, 6, "MS")
    before, after = model.forecast(histories), loaded.forecast(histories)
    assert before.quantiles is not None and after.quantiles is not None
    np.testing.assert_array_equal(after.mean, before.mean)
    np.testing.assert_array_equal(after.quantiles, before.quantiles)
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.pickle"))


def test_ensemble_weights_depend_only_on_the_history() -> None:
    histories = noisy()
    rng = np.random.default_rng(7)

    def panel(futures_scale: float) -> Panel:
        series = tuple(
            Series(f"s{i}", 0, np.concatenate([h, futures_scale * rng.normal(size=6) + h[-6:]]))
            for i, h in enumerate(histories)
        )
        return Panel(series=series, freq=None, season=12, horizon=6)

    alone = ForecastEnsemble(members=CHEAP).fit(histories, season=12, horizon=6)
    calm, wild = ForecastEnsemble(members=CHEAP), ForecastEnsemble(members=CHEAP)
    backtest(panel(0.0), calm)
    backtest(panel(50.0), wild)
    assert calm.weights_ == wild.weights_ == alone.weights_
    assert calm.validation_mase_ == wild.validation_mase_ == alone.validation_mase_


def test_ensemble_leaves_short_and_constant_histories_out_of_the_weights() -> None:
    histories = [*noisy(3), np.arange(15.0), np.full(40, 3.0)]
    model = ForecastEnsemble(members=CHEAP).fit(histories, season=12, horizon=6)
    assert model.validation_series_ == 3  # 15 - 6 < 13 points; a constant past has no scale
    result = model.forecast(histories)
    assert result.mean.shape == (5, 6) and np.isfinite(result.mean).all()
    # A history shorter than the horizon (a backtest's earliest window can leave that few)
    # holds nothing out either.
    short = [*noisy(3), np.array([1.0, 4.0, 2.0, 5.0, 3.0])]
    model = ForecastEnsemble(members=CHEAP).fit(short, season=1, horizon=6)
    assert model.validation_series_ == 3


def test_ensemble_with_nothing_to_hold_out_weighs_equally() -> None:
    model = ForecastEnsemble(members=CHEAP).fit([np.arange(10.0)], season=12, horizon=6)
    assert model.weights_ == {"forecast.seasonal-naive": 0.5, "forecast.ets": 0.5}
    assert model.validation_mase_ == {} and model.validation_series_ == 0


def test_ensemble_members_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"'forecast.nope' is not a forecaster an ensemble"):
        ForecastEnsemble(members=["forecast.nope"]).fit(noisy(), season=12, horizon=6)
    with pytest.raises(ConfigError, match=r"name one forecaster twice"):
        ForecastEnsemble(members=["forecast.ets", "forecast.ets"]).fit(noisy(), season=12)
    with pytest.raises(ConfigError, match=r"write members=\['forecast.ets'\]"):
        ForecastEnsemble(members="forecast.ets").fit(noisy(), season=12)


def test_ensemble_declares_its_members() -> None:
    assert DEFAULT_MEMBERS[:2] == ("forecast.fracast", "forecast.ets")
    assert ForecastEnsemble.contains == DEFAULT_MEMBERS
    assert ForecastEnsemble().members == DEFAULT_MEMBERS
    assert (ForecastEnsemble.kind, ForecastEnsemble.needs_labels) == ("hybrid", True)
    assert "statsforecast" in ForecastEnsemble(members=CHEAP).requirements()


def test_best_weights_finds_the_least_mean_absolute_scaled_error() -> None:
    rng = np.random.default_rng(3)
    actual = rng.normal(size=(40, 5))
    a, b = actual + 1.0, actual - 1.0  # equal and opposite biases: the half-half mix is exact
    weights = _best_weights(np.stack([a, b]), actual, np.ones(40))
    np.testing.assert_allclose(weights, [0.5, 0.5], atol=1e-6)


def test_ensemble_backtest_reuses_its_members_fits_and_earlier_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over several windows the weights of window w come from forecasts of window w - 1, and
    the GBM's calibration fit of window w is its final fit of window w - 1: the members' own
    trials made those fits and forecasts, so the ensemble makes only window 0's held-out ETS
    forecast. Its forecasts equal those it makes with nothing to reuse, and the time saved is
    charged."""
    from crossover.strategies.forecast import ForecastGbm, _base, statistical

    trained: list[int] = []
    forecast: list[int] = []
    train_gbm, forecast_ets = ForecastGbm._train, statistical.ForecastEts._forecast

    def counted_train(self, layout, histories, extra=None):  # type: ignore[no-untyped-def]
        trained.append(len(histories[0]))
        return train_gbm(self, layout, histories, extra)

    def counted_forecast(self, histories, horizon):  # type: ignore[no-untyped-def]
        forecast.append(len(histories))
        return forecast_ets(self, histories, horizon)

    monkeypatch.setattr(ForecastGbm, "_train", counted_train)
    monkeypatch.setattr(statistical.ForecastEts, "_forecast", counted_forecast)
    series = noisy(n_series=6, length=60)
    data = Panel(
        series=tuple(Series(f"s{i}", 0, y) for i, y in enumerate(series)),
        freq=None,
        season=12,
        horizon=6,
    )
    members = ["forecast.ets", "forecast.gbm"]
    _base._REUSE.clear()
    _base._FITTED.clear()
    backtest(data, ForecastGbm(), windows=3)
    # Window 0 calibrates on 36 points and fits on 42; later windows calibrate on the fit
    # before them, served again, and fit on 48 and 54.
    assert trained == [36, 42, 48, 54]
    backtest(data, ForecastEts(), windows=3)
    assert len(forecast) == 3
    # Every fit on record (the GBM's: the only strategy here that learns) said to have taken
    # 100 s: the ensemble, served at least its held-out GBM fit in each window, is charged
    # at least 300 s, far more than anything here takes (what it is charged is what it saved).
    assert _base._FITTED
    for digest, (state, _) in list(_base._FITTED.items()):
        _base._FITTED[digest] = (state, 100.0)
    together = backtest(data, ForecastEnsemble(members=members), windows=3)
    # New: only window 0's held-out ETS forecast; every GBM fit is served again.
    assert trained == [36, 42, 48, 54] and len(forecast) == 4
    assert together.extra["reused"] >= 3 * 4 - 1
    assert together.fit_s >= 300.0
    _base._REUSE.clear()
    _base._FITTED.clear()
    alone = backtest(data, ForecastEnsemble(members=members), windows=3)
    # Alone it fits the GBM itself: at least each window's held-out fit.
    assert len(trained) >= 4 + 3
    for w in range(3):
        assert np.allclose(alone.forecasts[w], together.forecasts[w])


def test_ensemble_passes_covariates_to_the_members_that_use_them(tmp_path: Path) -> None:
    """The GBM member learns the promotions (the seasonal naive ignores them); the weights
    come from forecasts that knew the held-out points' promotions, so the GBM, which knows
    what a promotion does, outweighs the naive forecast; save and load keep it all."""
    from crossover.strategies import Strategy
    from tests.strategies.forecast.test_covariates import HORIZON, covariates, panel

    series, flags, kinds = panel()
    histories = [s[:-HORIZON] for s in series]
    members = ["forecast.seasonal-naive", "forecast.gbm"]
    model = ForecastEnsemble(members=members).fit(
        histories, season=1, horizon=HORIZON, covariates=covariates(flags, kinds, -HORIZON)
    )
    assert model.known_names_ == ("promo",) and model.static_names_ == ("kind",)
    assert model.members_["forecast.gbm"].known_names_ == ("promo",)
    assert model.weights_["forecast.gbm"] > 0.5
    assert model.validation_mase_["forecast.gbm"] < model.validation_mase_[members[0]]
    future = covariates(flags, kinds)
    with pytest.raises(DataError, match=r"forecast\.ensemble was fitted with covariates"):
        model.forecast(histories)
    result = model.forecast(histories, covariates=future)
    truth = np.stack([s[-HORIZON:] for s in series])
    assert np.median(np.abs(result.mean - truth) / truth) < 0.2
    loaded = Strategy.load(model.save(tmp_path / "ensemble"))
    again = loaded.forecast(histories, covariates=future)  # type: ignore[attr-defined]
    np.testing.assert_allclose(again.mean, result.mean)
