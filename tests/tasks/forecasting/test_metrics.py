"""Forecast metrics against hand-computed values: scales, MASE, sMAPE, RMSSE, WQL, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossover.errors import ConfigError
from crossover.tasks.forecasting.metrics import (
    GLOSSARY,
    WindowScores,
    aggregate,
    coverage,
    mase,
    quantile_loss,
    rmsse,
    scale_mase,
    scale_rmsse,
    score_window,
    smape,
    wql,
)

LEVELS = [0.1, 0.5, 0.9]
# Season 4; the seasonal differences of the history are 2, 1, 3, 0, 2, 1, 3, 0 (mean 1.5), and
# the next season repeats them, so the seasonal-naive forecast (the last season) has MASE 1.
SEASONAL_HISTORY = [10, 20, 30, 40, 12, 21, 33, 40, 14, 22, 36, 40]
SEASONAL_ACTUAL = [16, 23, 39, 40]
SEASONAL_NAIVE = SEASONAL_HISTORY[-4:]

# Two series for the weighted quantile loss, at LEVELS (twice the pinball losses, by hand):
# A: y=10 at (8, 10, 12): 0.1*2 + 0 + 0.1*2 = 0.4; y=20 at (18, 20, 25): 0.2 + 0 + 0.1*5 = 0.7
#    -> quantile loss 2 * 1.1 = 2.2, sum |y| = 30, both inside the 0.1..0.9 interval.
# B: y=1 at (2, 2, 2): 0.9 + 0.5 + 0.1 = 1.5; y=3 at (0, 1, 2): 0.3 + 1.0 + 0.9 = 2.2
#    -> quantile loss 2 * 3.7 = 7.4, sum |y| = 4, neither inside the interval.
A = {"actual": [10.0, 20.0], "quantiles": [[8, 10, 12], [18, 20, 25]]}
B = {"actual": [1.0, 3.0], "quantiles": [[2, 2, 2], [0, 1, 2]]}


def test_scale_mase_seasonal_naive_scores_mase_one_on_repeated_errors() -> None:
    scale = scale_mase(SEASONAL_HISTORY, season=4)
    assert scale == pytest.approx(1.5)
    assert mase(SEASONAL_ACTUAL, SEASONAL_NAIVE, scale) == pytest.approx(1.0)
    # The one-step naive scale is larger here, so the same errors score below 1 against it.
    assert mase(SEASONAL_ACTUAL, SEASONAL_NAIVE, scale_mase(SEASONAL_HISTORY, 1)) < 1.0


def test_scale_mase_history_no_longer_than_season_uses_one_step_naive() -> None:
    assert scale_mase([1.0, 3.0, 2.0], season=12) == pytest.approx(1.5)
    assert scale_mase([1.0, 3.0, 2.0], season=3) == pytest.approx(1.5)


def test_scales_nan_on_constant_or_single_point_history() -> None:
    assert math.isnan(scale_mase([5.0] * 10, season=2))
    assert math.isnan(scale_mase([5.0], season=1))
    assert math.isnan(scale_rmsse([5.0] * 10))
    assert math.isnan(scale_rmsse([5.0]))
    # A NaN scale makes the scaled metric NaN instead of raising.
    assert math.isnan(mase([1.0], [2.0], float("nan")))
    assert math.isnan(rmsse([1.0], [2.0], float("nan")))


def test_scale_rmsse_and_rmsse_hand_computed() -> None:
    scale = scale_rmsse([1.0, 3.0, 2.0, 5.0])  # one-step differences 2, -1, 3
    assert scale == pytest.approx(14 / 3)
    # squared errors 1 and 4: sqrt(2.5 / (14 / 3))
    assert rmsse([6.0, 6.0], [5.0, 8.0], scale) == pytest.approx(math.sqrt(15 / 28))


def test_smape_zeros_count_zero_and_range_is_0_to_200() -> None:
    assert smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert smape([0.0, 1.0, 2.0], [0.0, 3.0, 2.0]) == pytest.approx(100 / 3)
    assert smape([0.0], [5.0]) == pytest.approx(200.0)


def test_quantile_loss_pinball_by_hand_for_one_point() -> None:
    # y = 10: level 0.1 at 8 -> 0.1 * 2; 0.5 at 10 -> 0; 0.9 at 13 -> (0.9 - 1) * -3 = 0.3.
    assert quantile_loss([10.0], [[8.0, 10.0, 13.0]], LEVELS) == pytest.approx(2 * 0.5)
    assert quantile_loss(A["actual"], A["quantiles"], LEVELS) == pytest.approx(2.2)


def test_wql_aggregates_sums_across_series_not_mean_of_ratios() -> None:
    history = [1.0, 2.0, 4.0]
    scores = [
        score_window(history, s["actual"], s["actual"], 1, s["quantiles"], LEVELS) for s in (A, B)
    ]
    assert [s.quantile_loss for s in scores] == pytest.approx([2.2, 7.4])
    assert [s.abs_actual for s in scores] == pytest.approx([30.0, 4.0])
    expected = (2.2 + 7.4) / (3 * (30 + 4))
    assert wql(2.2 + 7.4, 34.0, 3) == pytest.approx(expected)
    out = aggregate(scores)
    assert out["wql"] == pytest.approx(expected)
    assert out["wql"] != pytest.approx((2.2 / 90 + 7.4 / 12) / 2)
    assert out["coverage_80"] == pytest.approx(0.5)


def test_wql_nan_when_actuals_sum_to_zero() -> None:
    assert math.isnan(wql(1.0, 0.0, 3))


def test_coverage_counts_bounds_as_inside() -> None:
    assert coverage([1.0, 5.0, 10.0], [0.0, 6.0, 9.0], [2.0, 7.0, 10.0]) == pytest.approx(2 / 3)


def test_score_window_finds_coverage_levels_among_arange_levels() -> None:
    levels = np.arange(0.1, 1.0, 0.1)  # 0.1 .. 0.9, with float noise (0.30000000000000004)
    actual = np.array([5.0, 5.0])
    quantiles = np.tile(np.linspace(1.0, 9.0, 9), (2, 1))  # 0.1 -> 1, 0.9 -> 9
    quantiles[1] += 10.0  # step 2's 0.1..0.9 interval [11, 19] misses 5
    scores = score_window([1.0, 2.0], actual, actual, 1, quantiles, levels)
    assert scores.coverage_80 == pytest.approx(0.5)
    assert scores.n_levels == 9


def test_score_window_without_quantiles_has_none_quantile_fields() -> None:
    scores = score_window(SEASONAL_HISTORY, SEASONAL_ACTUAL, SEASONAL_NAIVE, 4)
    assert scores.mase == pytest.approx(1.0)
    assert scores.quantile_loss is None and scores.coverage_80 is None


def test_aggregate_leaves_nan_scale_pairs_out() -> None:
    constant = score_window([3.0] * 8, [3.0, 4.0], [3.0, 3.0], 4)
    good = score_window(SEASONAL_HISTORY, SEASONAL_ACTUAL, SEASONAL_NAIVE, 4)
    assert math.isnan(constant.mase) and math.isnan(constant.rmsse)
    out = aggregate([constant, good])
    assert out["mase"] == pytest.approx(good.mase)
    assert out["rmsse"] == pytest.approx(good.rmsse)
    # sMAPE needs no scale: both pairs count.
    assert out["smape"] == pytest.approx((constant.smape + good.smape) / 2)
    assert "wql" not in out and "coverage_80" not in out
    assert math.isnan(aggregate([constant])["mase"])


def test_aggregate_omits_quantile_keys_unless_every_pair_has_them() -> None:
    with_q = score_window([1.0, 2.0], A["actual"], A["actual"], 1, A["quantiles"], LEVELS)
    without = score_window([1.0, 2.0], A["actual"], A["actual"], 1)
    assert set(aggregate([with_q])) == set(GLOSSARY)
    assert set(aggregate([with_q, without])) == {"mase", "smape", "rmsse"}


def test_aggregate_refuses_mixed_level_counts_and_nothing() -> None:
    a = WindowScores(1.0, 1.0, 1.0, quantile_loss=1.0, abs_actual=1.0, coverage_80=1.0, n_levels=3)
    b = WindowScores(1.0, 1.0, 1.0, quantile_loss=1.0, abs_actual=1.0, coverage_80=1.0, n_levels=9)
    with pytest.raises(ValueError, match=r"\[3, 9\]"):
        aggregate([a, b])
    with pytest.raises(ValueError, match="no \\(series, window\\)"):
        aggregate([])


def test_metrics_refuse_lengths_that_disagree() -> None:
    with pytest.raises(ValueError, match="actual has 2 values but forecast has 3"):
        smape([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="actual has 1 values but upper has 2"):
        coverage([1.0], [0.0], [2.0, 3.0])
    with pytest.raises(ValueError, match=r"shape \(1, 3\) but 2 steps x 3 levels"):
        quantile_loss([1.0, 2.0], [[1.0, 2.0, 3.0]], LEVELS)


def test_metrics_refuse_non_finite_forecasts_naming_the_position() -> None:
    with pytest.raises(ValueError, match="forecast is not finite at position 1"):
        score_window([1.0, 2.0], [1.0, 2.0, 3.0], [1.0, np.nan, np.inf], 1)
    with pytest.raises(ValueError, match=r"quantiles are not finite at step 1, level 0\.9"):
        quantile_loss([1.0, 2.0], [[1, 2, 3], [1, 2, np.nan]], LEVELS)


def test_score_window_coverage_needs_levels_0_1_and_0_9() -> None:
    with pytest.raises(ValueError, match=r"0\.1 and 0\.9.*\[0\.25, 0\.5, 0\.75\]"):
        score_window([1.0, 2.0], [1.0], [1.0], 1, [[0.0, 1.0, 2.0]], [0.25, 0.5, 0.75])
    with pytest.raises(ValueError, match="quantiles were given without levels"):
        score_window([1.0, 2.0], [1.0], [1.0], 1, [[0.0, 1.0, 2.0]])


def test_bad_season_and_levels_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="season must be 1 or more, got 0"):
        scale_mase([1.0, 2.0], season=0)
    with pytest.raises(ConfigError, match="increasing and strictly between 0 and 1"):
        quantile_loss([1.0], [[1.0, 2.0]], [0.9, 0.1])
    with pytest.raises(ConfigError, match="increasing and strictly between 0 and 1"):
        quantile_loss([1.0], [[1.0, 2.0]], [0.0, 0.5])


def test_glossary_names_each_aggregate_key() -> None:
    assert set(GLOSSARY) == {"mase", "smape", "rmsse", "wql", "coverage_80"}
    assert all(text and "\n" not in text for text in GLOSSARY.values())
