"""The contract kit of ``forecasting``: a small panel of monthly-like series (trend, a season of
12, noise; three lengths), forecast 6 steps ahead.

A forecaster answers, for each history, the next ``horizon`` values and (``has_quantiles``)
the quantiles 0.1 ... 0.9 of each. What serving needs of every one of them is checked here: a
history with a missing value is refused with its position; one, two or three points, or a
constant series, still get finite forecasts; a horizon other than the fitted one is answered
(its first steps those of the shorter one); the fitted season, horizon and frequency survive
save and load.
"""

from __future__ import annotations

import importlib.util
from typing import Any, NamedTuple

import numpy as np
import pytest

from crossover.errors import DataError
from crossover.strategies import Strategy
from crossover.tasks.forecasting.metrics import QUANTILES, scale_mase
from tests.contract.kits.base import Case, Check, Kit

__all__ = ["FORECAST", "Panel"]

SEASON, HORIZON, FREQ = 12, 6, "MS"
#: Another horizon than the fitted one: longer, so that the promise beyond it is asked.
LONGER = 9


class Panel(NamedTuple):
    """Histories to fit on and forecast from, and the ``horizon`` values after each."""

    histories: list[np.ndarray]
    actuals: np.ndarray
    season: int
    horizon: int
    freq: str


def make_data() -> Panel:
    """8 series of 60 points (two of them 48 and 36): a level and trend of their own, a season
    of 12 at its own phase and size, noise from a seeded generator. Few series: AutoARIMA
    takes a fifth of a second for each, and every check forecasts them."""
    rng = np.random.default_rng(0)
    series = []
    for i in range(8):
        n = 48 - 12 * (i // 4) if i % 4 == 0 else 60
        t = np.arange(n, dtype=np.float64)
        season = (5 + i) * np.sin(2 * np.pi * t / SEASON + i)
        trend = 0.3 * (1 + i % 3) * t
        series.append(50 + 10 * i + trend + season + rng.normal(0, 1 + 0.2 * i, n))
    return Panel(
        histories=[s[:-HORIZON] for s in series],
        actuals=np.stack([s[-HORIZON:] for s in series]),
        season=SEASON,
        horizon=HORIZON,
        freq=FREQ,
    )


#: Small settings: few trees for the boosted forecaster; the ensemble of the pre-trained
#: forecaster and AutoETS (its default members but the boosted one, which fits 500 trees
#: twice with its defaults).
_FAST: dict[str, dict[str, Any]] = {
    "forecast.gbm": {"n_estimators": 20},
    "forecast.ensemble": {"members": ("forecast.fracast", "forecast.ets")},
}


def params(cls: type[Strategy]) -> dict[str, Any]:
    return dict(_FAST.get(cls.key, {}))


#: Strategies run here on randomly initialised weights (their real weights are on the Hugging
#: Face hub, out of reach): every rule is asked of them but accuracy.
_RANDOM_WEIGHTS = {
    "forecast.chronos": "a tiny randomly initialised Chronos-Bolt filed as "
    "amazon/chronos-bolt-small in a test Hugging Face cache (tests/chronos_models.py)",
}


def prepare(case: Case) -> None:
    """Forecast.chronos: a Hugging Face cache of this test holding a tiny Chronos-Bolt as its
    default id, offline (when chronos-forecasting is installed; else it stays unavailable)."""
    if case.key != "forecast.chronos" or importlib.util.find_spec("chronos") is None:
        return
    from tests.chronos_models import hf_cache_with, use_hf_cache

    cache = case.tmp_path / "hf-cache"
    use_hf_cache(case.monkeypatch, cache)
    hf_cache_with(cache, "amazon/chronos-bolt-small")


def fit(strategy: Strategy, panel: Panel) -> Strategy:
    forecaster: Any = strategy  # a ForecastStrategy: its fit takes the season and horizon
    fitted: Strategy = forecaster.fit(
        panel.histories, season=panel.season, horizon=panel.horizon, freq=panel.freq
    )
    return fitted


def outputs(strategy: Any, panel: Panel) -> dict[str, Any]:
    result = strategy.forecast(panel.histories)
    out = {"mean": result.mean}
    if result.quantiles is not None:
        out["quantiles"] = result.quantiles
    out[f"mean_at_{LONGER}"] = strategy.forecast(panel.histories[:3], LONGER).mean
    return out


def _assert_forecast(strategy: Any, result: Any, n: int, horizon: int) -> None:
    """Shaped (n, horizon), finite; quantiles, where the strategy has them, shaped
    (n, horizon, 9) and non-decreasing across levels."""
    assert result.mean.shape == (n, horizon)
    assert np.isfinite(result.mean).all()
    if not strategy.has_quantiles:
        assert result.quantiles is None
        return
    assert result.quantiles is not None
    assert result.quantiles.shape == (n, horizon, len(QUANTILES))
    assert np.isfinite(result.quantiles).all()
    assert (np.diff(result.quantiles, axis=-1) >= 0).all()


def check_predictions(case: Case, strategy: Any) -> None:
    """``predict`` gives one array of ``horizon`` finite values per history: the point
    forecasts of ``forecast``; ``forecast`` is shaped right and its quantiles are ordered."""
    panel: Panel = case.data
    n = len(panel.histories)
    pred = strategy.predict(panel.histories)
    assert pred.dtype == object and pred.shape == (n,)
    assert all(row.shape == (panel.horizon,) and np.isfinite(row).all() for row in pred)
    assert list(strategy.classes_) == []
    result = strategy.forecast(panel.histories)
    _assert_forecast(strategy, result, n, panel.horizon)
    np.testing.assert_array_equal(np.stack(list(pred)), result.mean)


# -- the task's checks --------------------------------------------------------------------------


def _new(case: Case) -> Any:
    """A new, unfitted forecaster (a ``ForecastStrategy``: its fit takes the season)."""
    return case.build()


def _quantiles_are_ordered_and_shaped(case: Case) -> None:
    panel: Panel = case.data
    strategy: Any = case.fitted()
    result = strategy.forecast(panel.histories)
    _assert_forecast(strategy, result, len(panel.histories), panel.horizon)
    assert result.quantiles is not None
    # The forecasts spread: not every quantile is the point forecast on this noisy panel.
    assert (result.quantiles[:, :, -1] > result.quantiles[:, :, 0]).any()


def _a_missing_value_is_refused_with_its_position(case: Case) -> None:
    panel: Panel = case.data
    strategy: Any = case.fitted()
    for bad in (np.nan, np.inf):
        history = panel.histories[1].copy()
        history[3] = bad
        histories = [panel.histories[0], history]
        message = r"history 1 has a missing or infinite value at position 3"
        with pytest.raises(DataError, match=message):
            strategy.forecast(histories)
        with pytest.raises(DataError, match=message):
            strategy.predict(histories)  # what serving calls
        with pytest.raises(DataError, match=message):
            _new(case).fit(histories, season=panel.season, horizon=panel.horizon, freq=panel.freq)
    with pytest.raises(DataError, match=r"history 0 is empty"):
        strategy.forecast([[]])


def _short_and_constant_histories_get_finite_forecasts(case: Case) -> None:
    """Serving takes any history a user sends: one to three points, or a flat one, in one
    request with a full one, get finite forecasts (no DataError: each strategy promises a
    fallback, the seasonal naive forecast, for a history it cannot model)."""
    panel: Panel = case.data
    strategy: Any = case.fitted()
    histories = [
        np.array([5.0]),
        np.array([5.0, 6.0]),
        np.array([1.0, 2.0, 3.0]),
        np.full(40, 7.0),
        np.zeros(30),
        np.full(3, 7.0),
        panel.histories[0],
    ]
    result = strategy.forecast(histories)
    _assert_forecast(strategy, result, len(histories), panel.horizon)
    # A one-point history has nothing to forecast from but its value.
    np.testing.assert_allclose(result.mean[0], 5.0)


def _constant_history_is_forecast_as_that_constant(case: Case) -> None:
    """A flat history (a product that sold the same, or nothing, every month) is forecast
    flat at its value, within 10 %; an all-zero one at 0 (up to rounding)."""
    values = (7.0, 0.0, 1000.0)
    mean = case.fitted().forecast([np.full(40, v) for v in values]).mean  # type: ignore[attr-defined]
    for value, row in zip(values, mean, strict=True):
        np.testing.assert_allclose(row, value, rtol=0.1, atol=1e-6, err_msg=f"constant {value}")


def _seasonal_naive_repeats_the_last_season(case: Case) -> None:
    panel: Panel = case.data
    strategy: Any = case.fitted()
    for horizon in (panel.horizon, LONGER, 2 * panel.season + 1):
        result = strategy.forecast(panel.histories, horizon)
        expected = np.stack([np.resize(h[-panel.season :], horizon) for h in panel.histories])
        np.testing.assert_array_equal(result.mean, expected)


def _fit_records_its_settings_and_they_survive_save_and_load(case: Case) -> None:
    panel: Panel = case.data
    strategy: Any = case.fitted()
    settings = (panel.season, panel.horizon, panel.freq)
    assert (strategy.season_, strategy.horizon_, strategy.freq_) == settings
    loaded: Any = Strategy.load(strategy.save(case.tmp_path / "model"))
    assert (loaded.season_, loaded.horizon_, loaded.freq_) == settings
    # The default horizon of a loaded model is the fitted one.
    assert loaded.forecast(panel.histories[:2]).mean.shape == (2, panel.horizon)
    # Other settings are recorded as given (no frequency: None).
    other: Any = _new(case).fit(panel.histories[:4], season=4, horizon=2)
    assert (other.season_, other.horizon_, other.freq_) == (4, 2, None)


def _another_horizon_extends_the_fitted_one(case: Case) -> None:
    """A longer horizon than the fitted one (here beyond two seasons) or a shorter one is
    answered, and its first steps are the forecast at the shorter horizon: a client asking for
    more steps does not get other values for the first ones. A horizon under 1 is refused."""
    panel: Panel = case.data
    strategy: Any = case.fitted()
    histories = panel.histories[:4]
    fitted = strategy.forecast(histories)
    longer = strategy.forecast(histories, 2 * panel.season + 1)
    _assert_forecast(strategy, longer, len(histories), 2 * panel.season + 1)
    np.testing.assert_allclose(longer.mean[:, : panel.horizon], fitted.mean, rtol=1e-9)
    if fitted.quantiles is not None:
        # AutoETS' intervals move in the fourth digit with the horizon asked.
        np.testing.assert_allclose(
            longer.quantiles[:, : panel.horizon], fitted.quantiles, rtol=1e-3
        )
    shorter = strategy.forecast(histories, 2)
    _assert_forecast(strategy, shorter, len(histories), 2)
    np.testing.assert_allclose(shorter.mean, fitted.mean[:, :2], rtol=1e-9)
    with pytest.raises(ValueError, match="horizon must be at least 1"):
        strategy.forecast(histories, 0)


def _a_forecast_does_not_depend_on_the_other_series_asked(case: Case) -> None:
    """Alone, or in a batch with others of other lengths (given as a list of numbers there),
    or as one 1-d array: a history gets the same forecast (a served request holds any mix)."""
    panel: Panel = case.data
    strategy: Any = case.fitted()
    history = panel.histories[5]
    alone = strategy.forecast([history])
    batch = strategy.forecast([np.array([1.0]), history.tolist(), panel.histories[0]])
    one_array = strategy.forecast(history)
    for other, row in ((batch, 1), (one_array, 0)):
        np.testing.assert_allclose(other.mean[row], alone.mean[0], rtol=1e-6)
        if alone.quantiles is not None:
            np.testing.assert_allclose(other.quantiles[row], alone.quantiles[0], rtol=1e-6)


def _accurate_on_a_clean_seasonal_panel(case: Case) -> None:
    """Mean MASE under 1.5 on the panel's next ``horizon`` values (the seasonal naive scores
    about 1 here; a forecaster off by a season or a scale scores far more)."""
    if case.key in _RANDOM_WEIGHTS:
        pytest.skip(f"{case.key} runs {_RANDOM_WEIGHTS[case.key]}: no accuracy to measure")
    panel: Panel = case.data
    mean = case.fitted().forecast(panel.histories).mean  # type: ignore[attr-defined]
    scores = [
        np.abs(m - a).mean() / scale_mase(h, panel.season)
        for m, a, h in zip(mean, panel.actuals, panel.histories, strict=True)
    ]
    assert float(np.mean(scores)) < 1.5


def _pretrained_never_sees_the_histories(case: Case) -> None:
    """A pre-trained forecaster learns nothing at ``fit``: other histories (or none of these)
    give the same forecasts."""
    panel: Panel = case.data
    strategy: Any = case.fitted()
    seen: list[Any] = []
    original = type(strategy)._fit_series

    def spy(self: Any, histories: Any) -> None:
        seen.append(histories)
        original(self, histories)

    case.monkeypatch.setattr(type(strategy), "_fit_series", spy)
    other: Any = _new(case).fit(
        [h[::-1] * 3.0 for h in panel.histories], season=panel.season, horizon=panel.horizon
    )
    assert seen == [[]]
    np.testing.assert_array_equal(
        other.forecast(panel.histories).mean, strategy.forecast(panel.histories).mean
    )


def _footprint_counts_the_model(case: Case) -> None:
    footprint = case.fitted().footprint()
    if case.cls.kind == "pretrained":
        assert footprint["parameters"] > 0 and footprint["base_model_bytes"] > 0
    elif case.key == "forecast.gbm":
        assert footprint["parameters"] > 0 and footprint["base_model_bytes"] == 0
    elif case.cls.kind == "custom":  # fitted per series when forecast: nothing kept
        assert footprint["base_model_bytes"] == 0


FORECAST = Kit(
    task="forecasting",
    key_prefix="forecast.",
    input_kind="series",
    make_data=make_data,
    params=params,
    fit=fit,
    unfitted_input=lambda panel: panel.histories[:1],
    outputs=outputs,
    check_predictions=check_predictions,
    prepare=prepare,
    checks=(
        Check(
            "quantiles_are_ordered_and_shaped",
            _quantiles_are_ordered_and_shaped,
            applies=lambda cls: bool(getattr(cls, "has_quantiles", False)),
        ),
        Check(
            "a_missing_value_is_refused_with_its_position",
            _a_missing_value_is_refused_with_its_position,
        ),
        Check(
            "short_and_constant_histories_get_finite_forecasts",
            _short_and_constant_histories_get_finite_forecasts,
        ),
        Check(
            "constant_history_is_forecast_as_that_constant",
            _constant_history_is_forecast_as_that_constant,
        ),
        Check(
            "seasonal_naive_repeats_the_last_season",
            _seasonal_naive_repeats_the_last_season,
            applies=lambda cls: cls.key == "forecast.seasonal-naive",
        ),
        Check(
            "fit_records_its_settings_and_they_survive_save_and_load",
            _fit_records_its_settings_and_they_survive_save_and_load,
        ),
        Check("another_horizon_extends_the_fitted_one", _another_horizon_extends_the_fitted_one),
        Check(
            "a_forecast_does_not_depend_on_the_other_series_asked",
            _a_forecast_does_not_depend_on_the_other_series_asked,
        ),
        Check("accurate_on_a_clean_seasonal_panel", _accurate_on_a_clean_seasonal_panel),
        Check(
            "pretrained_never_sees_the_histories",
            _pretrained_never_sees_the_histories,
            applies=lambda cls: not cls.needs_labels,
        ),
        Check("footprint_counts_the_model", _footprint_counts_the_model),
    ),
)
