"""Backtesting a forecaster over windows: what it sees, what it is scored on, the units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossover.strategies.forecast import ForecastEts, ForecastSeasonalNaive
from crossover.tasks.forecasting.evaluate import backtest
from crossover.tasks.forecasting.series import Panel, read_series


def panel(n_series: int = 3, length: int = 60, noise: float = 0.0, horizon: int = 6) -> Panel:
    rng = np.random.default_rng(0)
    pattern = np.array([5, 3, 1, 0, -2, -4, -5, -3, -1, 0, 2, 4], dtype=float)
    frames = []
    for i in range(n_series):
        y = 50 + 10 * i + np.resize(pattern, length) + noise * rng.normal(size=length)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range("2015-01-01", periods=length, freq="MS"),
                    "y": y,
                }
            )
        )
    return read_series(pd.concat(frames), horizon=horizon)


def test_a_repeating_season_is_forecast_exactly_by_the_seasonal_naive() -> None:
    result = backtest(panel(), ForecastSeasonalNaive(), windows=3)
    assert len(result.scores) == 3 and all(len(w) == 3 for w in result.scores)
    # No in-sample seasonal error: MASE's scale is 0 on every history, so nothing is scored.
    assert result.left_out == 9 and np.isnan(result.metrics["mase"])
    assert result.metrics["smape"] == pytest.approx(0.0)


class Spy(ForecastSeasonalNaive):
    """Records the histories it is fitted on and forecasts from."""

    seen: list[list[int]]

    def forecast(self, histories, horizon=None):  # type: ignore[no-untyped-def]
        type(self).seen.append([len(h) for h in histories])
        return super().forecast(histories, horizon)


def test_each_window_sees_only_its_past_and_the_history_budget_clips_it() -> None:
    Spy.seen = []
    data = panel(n_series=2, length=40, noise=1.0)
    backtest(data, Spy(), windows=3)
    assert Spy.seen == [[22, 22], [28, 28], [34, 34]]
    Spy.seen = []
    clipped = backtest(data, Spy(), windows=3, history=12)
    assert Spy.seen == [[12, 12], [12, 12], [12, 12]]
    full = backtest(data, ForecastSeasonalNaive(), windows=3)
    # The seasonal naive's point forecast needs only the last season: the clip changes none of
    # the point metrics, MASE being scaled by the whole history either way. Its intervals come
    # from its in-sample errors, which one season of history does not have: zero width.
    for name in ("mase", "smape", "rmsse"):
        assert clipped.metrics[name] == pytest.approx(full.metrics[name])
    assert clipped.metrics["coverage_80"] < full.metrics["coverage_80"]


def test_scores_and_units_per_series() -> None:
    data = panel(noise=1.0, length=72)
    result = backtest(data, ForecastEts(), windows=2)
    units = result.unit_scores()
    assert set(units) == {"mase", "smape", "rmsse"}
    assert len(units["mase"]) == 3
    per_pair = [s.mase for w in result.scores for s in w]
    assert result.metrics["mase"] == pytest.approx(np.mean(per_pair))
    assert 0.0 < result.metrics["coverage_80"] <= 1.0 and result.metrics["wql"] > 0
    assert result.forecasts[0].shape == (3, 6) and result.quantiles[1] is not None


def test_an_ensemble_reuses_its_members_forecasts_and_is_charged_their_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crossover.strategies.forecast import ForecastEnsemble, statistical

    calls: list[int] = []
    original = statistical.ForecastEts._forecast

    def counted(self, histories, horizon):  # type: ignore[no-untyped-def]
        calls.append(len(histories))
        return original(self, histories, horizon)

    monkeypatch.setattr(statistical.ForecastEts, "_forecast", counted)
    data = panel(n_series=4, noise=1.0)
    alone = backtest(data, ForecastEts(), windows=1)
    assert calls == [4]
    members = ["forecast.ets", "forecast.seasonal-naive"]
    together = backtest(data, ForecastEnsemble(members=members), windows=1)
    # The ensemble fits ETS on the held-out pasts (new) and on the full histories, and
    # forecasts them: that fit and that forecast are the ones ETS made alone, served again.
    assert calls == [4, 4] and together.extra["reused"] == 2
    assert together.forecast_s >= 0.5 * alone.forecast_s
    fresh = backtest(data, ForecastEnsemble(members=members), windows=1)
    assert np.allclose(fresh.forecasts[0], together.forecasts[0])
    # Outside a backtest every forecast is computed (latency is timed on real inference).
    model = ForecastEts().fit([s.values for s in data.series], season=12, horizon=6)
    model.forecast([s.values for s in data.series])
    model.forecast([s.values for s in data.series])
    assert calls[-2:] == [4, 4]


def test_many_series_shared_out_over_processes_get_the_same_forecasts() -> None:
    from crossover.strategies.forecast._base import share_series

    rng = np.random.default_rng(1)
    season = np.sin(np.arange(36) * 2 * np.pi / 12)
    histories = [50 + 5 * season + rng.normal(size=36) for _ in range(200)]
    histories[7] = np.ones(36)  # constant: ETS falls back, and the count must come back
    model = ForecastEts().fit(histories, season=12, horizon=6)
    alone = model.forecast(histories)
    alone_fallbacks = model.fallbacks_
    with share_series(2):
        shared = model.forecast(histories)
    assert np.allclose(shared.mean, alone.mean) and shared.quantiles is not None
    assert alone.quantiles is not None and np.allclose(shared.quantiles, alone.quantiles)
    assert model.fallbacks_ == alone_fallbacks
