from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from crossover.evaluation.learning_curve import (
    LEARNING_CURVE_COLUMNS,
    LabelsNeeded,
    PowerLawFit,
    curve_table,
    describe,
    fit_power_law,
    labels_needed,
)

A, B, C = 0.5, 0.6, 0.95  # the true curve of the synthetic "hybrid" strategy
BUDGETS = (2, 4, 8, 16, 32, 64)
N_CLASSES = 4


def _row(
    strategy: str, kind: str, budget: int | str, n_labels: int, seed: int, score: float
) -> dict[str, object]:
    return {
        "strategy": strategy,
        "kind": kind,
        "budget": budget,
        "n_labels": n_labels,
        "n_classes": N_CLASSES,
        "seed": seed,
        "score": score,
        "fit_s": 0.1 * (seed + 1),
    }


@pytest.fixture
def hand_points() -> pd.DataFrame:
    rows = [
        _row("zs", "pretrained", 0, 0, 0, 0.70),
        _row("lin", "custom", 4, 16, 0, 0.60),
        _row("lin", "custom", 4, 16, 1, 0.64),
        _row("lin", "custom", 4, 16, 2, 0.68),
        _row("lin", "custom", 2, 8, 0, 0.50),
        _row("lin", "custom", "full", 400, 0, 0.90),
    ]
    frame = pd.DataFrame(rows)
    frame["score_ci_low"] = [0.65, 0.55, 0.59, 0.63, 0.45, 0.87]
    frame["score_ci_high"] = [0.75, 0.65, 0.69, 0.73, 0.55, 0.93]
    return frame


def _synthetic_points(
    *, noise: float = 0.0, seeds: int = 5, full: bool = False, rng_seed: int = 0
) -> pd.DataFrame:
    """A hybrid strategy on the known curve, a flat custom one, and a pre-trained one."""
    rng = np.random.default_rng(rng_seed)
    rows = [_row("zs", "pretrained", 0, 0, s, 0.6) for s in range(seeds)]
    for budget in BUDGETS:
        for s in range(seeds):
            score = C - A * budget ** (-B) + noise * rng.standard_normal()
            rows.append(_row("hybrid", "hybrid", budget, budget * N_CLASSES, s, score))
            rows.append(_row("flat", "custom", budget, budget * N_CLASSES, s, 0.5))
    if full:
        for s in range(seeds):
            score = C - A * 1000 ** (-B) + noise * rng.standard_normal()
            rows.append(_row("hybrid", "hybrid", "full", 1000 * N_CLASSES, s, score))
    return pd.DataFrame(rows)


def _significance(first_beating: int) -> dict[tuple[str, int | str], tuple[float, float, float]]:
    out: dict[tuple[str, int | str], tuple[float, float, float]] = {}
    for budget in BUDGETS:
        low = 0.01 if budget >= first_beating else -0.02
        out[("hybrid", budget)] = (low + 0.03, low, low + 0.06)
        out[("flat", budget)] = (-0.1, -0.15, -0.05)
    return out


def _one(needed: list[LabelsNeeded], strategy: str) -> LabelsNeeded:
    (item,) = [n for n in needed if n.strategy == strategy]
    return item


# --------------------------------------------------------------------------- curve_table


def test_curve_table_means_and_t_interval_match_hand_computation(
    hand_points: pd.DataFrame,
) -> None:
    table = curve_table(hand_points)
    assert list(table.columns) == LEARNING_CURVE_COLUMNS
    row = table[(table["strategy"] == "lin") & (table["budget_per_class"] == 4)].iloc[0]
    assert row["seed_count"] == 3
    assert row["score_mean"] == pytest.approx(0.64)
    assert row["n_labels"] == pytest.approx(16)
    assert row["fit_s_mean"] == pytest.approx(0.2)
    # sd of (0.60, 0.64, 0.68) is 0.04; t(0.975, df=2) = 4.302653; half = 4.302653*0.04/sqrt(3)
    half = 4.302653 * 0.04 / math.sqrt(3)
    assert row["score_ci_low"] == pytest.approx(0.64 - half, abs=1e-6)
    assert row["score_ci_high"] == pytest.approx(0.64 + half, abs=1e-6)


def test_curve_table_single_seed_uses_given_bootstrap_interval(hand_points: pd.DataFrame) -> None:
    table = curve_table(hand_points)
    row = table[(table["strategy"] == "lin") & (table["budget_per_class"] == 2)].iloc[0]
    assert row["seed_count"] == 1
    assert (row["score_ci_low"], row["score_ci_high"]) == pytest.approx((0.45, 0.55))


def test_curve_table_single_seed_without_interval_is_nan(hand_points: pd.DataFrame) -> None:
    table = curve_table(hand_points.drop(columns=["score_ci_low", "score_ci_high"]))
    row = table[(table["strategy"] == "lin") & (table["budget_per_class"] == 2)].iloc[0]
    assert math.isnan(row["score_ci_low"]) and math.isnan(row["score_ci_high"])


def test_curve_table_pretrained_once_with_budget_zero_and_sorted(
    hand_points: pd.DataFrame,
) -> None:
    extra = hand_points.iloc[[0]].assign(budget=8, seed=1, score=0.72)  # runner repeated it
    table = curve_table(pd.concat([hand_points, extra], ignore_index=True))
    zs = table[table["strategy"] == "zs"]
    assert len(zs) == 1
    assert zs.iloc[0]["budget_per_class"] == 0
    assert zs.iloc[0]["score_mean"] == pytest.approx(0.71)
    assert list(table["strategy"]) == ["lin", "lin", "lin", "zs"]
    assert list(table["budget_per_class"]) == [2, 4, "full", 0]


def test_curve_table_missing_column_is_named(hand_points: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="seed"):
        curve_table(hand_points.drop(columns="seed"))


# --------------------------------------------------------------------------- power law


def test_fit_power_law_recovers_known_parameters() -> None:
    x = np.array(BUDGETS, dtype=float)
    fit = fit_power_law(x, C - A * x ** (-B))
    assert fit is not None
    assert (fit.a, fit.b, fit.c) == pytest.approx((A, B, C), abs=1e-4)


def test_fit_power_law_budget_for_inverts_predict() -> None:
    fit = PowerLawFit(A, B, C)
    for x in (3.0, 40.0, 500.0):
        assert fit.budget_for(float(fit.predict(x))) == pytest.approx(x, rel=1e-9)
    assert fit.budget_for(C) == math.inf
    assert fit.budget_for(0.99) == math.inf


def test_fit_power_law_needs_three_distinct_budgets() -> None:
    assert fit_power_law(np.array([2.0, 2.0, 4.0, 4.0]), np.array([0.5, 0.5, 0.6, 0.6])) is None
    assert fit_power_law(np.array([2.0, 4.0, 8.0]), np.array([0.5, np.nan, 0.6])) is None


def test_fit_power_law_keeps_ceiling_within_bounds() -> None:
    x = np.array(BUDGETS, dtype=float)
    fit = fit_power_law(x, 1.3 - 0.9 * x ** (-0.3))  # an unbounded metric would exceed 1
    assert fit is not None
    assert 0.0 <= fit.c <= 1.0 and fit.a > 0 and fit.b > 0


# --------------------------------------------------------------------------- labels_needed


def test_labels_needed_beats_pretrained_from_first_significant_budget() -> None:
    needed = labels_needed(_synthetic_points(), _significance(8))
    assert [n.strategy for n in needed] == ["flat", "hybrid"]  # no line for the pre-trained one
    hybrid = _one(needed, "hybrid")
    assert hybrid.beats_pretrained_at == 8
    assert hybrid.beats_pretrained_delta == pytest.approx(0.04)
    assert _one(needed, "flat").beats_pretrained_at is None
    assert _one(needed, "flat").beats_pretrained_delta is None


def test_labels_needed_target_reached_at_measured_budget() -> None:
    target = 0.85  # the curve gives 0.806 at 8 and 0.855 at 16; it crosses 0.85 at 14.6
    needed = labels_needed(_synthetic_points(noise=0.002), _significance(8), target=target)
    hybrid = _one(needed, "hybrid")
    assert hybrid.target_reached_at == 16
    assert hybrid.target_estimate == pytest.approx((A / (C - target)) ** (1 / B), rel=0.1)
    assert not hybrid.extrapolated
    assert _one(needed, "flat").target_reached_at is None


def test_labels_needed_extrapolates_beyond_measured_budgets() -> None:
    target = 0.93
    analytic = (A / (C - target)) ** (1 / B)  # about 208 labels per class
    needed = labels_needed(_synthetic_points(noise=0.002), _significance(8), target=target)
    hybrid = _one(needed, "hybrid")
    assert hybrid.target_reached_at is None
    assert hybrid.extrapolated
    assert hybrid.target_estimate == pytest.approx(analytic, rel=0.25)
    low, estimate, high = (
        hybrid.target_estimate_low,
        hybrid.target_estimate,
        hybrid.target_estimate_high,
    )
    assert low is not None and estimate is not None and high is not None
    assert low <= estimate <= high < 2 * analytic


def test_labels_needed_noiseless_estimate_matches_analytic_answer() -> None:
    target = 0.93
    needed = labels_needed(_synthetic_points(), {}, target=target)
    hybrid = _one(needed, "hybrid")
    assert hybrid.target_estimate == pytest.approx((A / (C - target)) ** (1 / B), rel=1e-3)
    assert hybrid.beats_pretrained_at is None


def test_labels_needed_target_above_ceiling_is_unreachable() -> None:
    needed = labels_needed(_synthetic_points(), _significance(8), target=0.99)
    hybrid = _one(needed, "hybrid")
    assert hybrid.target_reached_at is None
    assert hybrid.target_estimate == math.inf
    assert not hybrid.extrapolated
    assert hybrid.fitted_ceiling == pytest.approx(C, abs=1e-3)
    line = describe([hybrid], pretrained="zs")[0]
    assert "is not expected to reach 0.99 accuracy (fitted ceiling 0.95)" in line


def test_labels_needed_full_budget_joins_fit_and_can_be_where_it_beats() -> None:
    points = _synthetic_points(noise=0.002, full=True)
    significance: dict[tuple[str, int | str], tuple[float, float, float]] = {
        ("hybrid", "full"): (0.3, 0.25, 0.35),
        ("hybrid", 64): (0.2, -0.01, 0.4),
    }
    hybrid = _one(labels_needed(points, significance, target=0.93), "hybrid")
    assert hybrid.beats_pretrained_at == "full"
    assert hybrid.target_reached_at == "full"
    assert hybrid.target_estimate == pytest.approx((A / (C - 0.93)) ** (1 / B), rel=0.15)
    assert hybrid.extrapolated  # beyond 64, the largest int budget
    line = describe([hybrid], pretrained="zs")[0]
    assert "beats the pre-trained model (zs) from the full training set (+0.30 accuracy)" in line
    assert "reaches 0.93 accuracy with the full training set (fitted curve: about " in line
    assert line.endswith(" per class)")


def test_labels_needed_bootstrap_is_seeded_and_absent_with_one_seed() -> None:
    points = _synthetic_points(noise=0.005)
    first = _one(labels_needed(points, {}, target=0.93, n_boot=50, seed=3), "hybrid")
    again = _one(labels_needed(points, {}, target=0.93, n_boot=50, seed=3), "hybrid")
    assert first == again
    single = _one(labels_needed(_synthetic_points(seeds=1), {}, target=0.93), "hybrid")
    assert single.target_estimate is not None
    assert single.target_estimate_low is None and single.target_estimate_high is None


def test_labels_needed_without_target_leaves_target_fields_empty() -> None:
    hybrid = _one(labels_needed(_synthetic_points(), _significance(4)), "hybrid")
    assert hybrid.target is None and hybrid.target_estimate is None
    assert hybrid.target_reached_at is None and not hybrid.extrapolated
    assert hybrid.beats_pretrained_at == 4


def test_labels_needed_to_dict_is_json_safe_and_round_trips() -> None:
    hybrid = _one(labels_needed(_synthetic_points(noise=0.005), {}, target=0.99), "hybrid")
    data = hybrid.to_dict()
    assert data["target_estimate"] == "inf"
    json.dumps(data, allow_nan=False)
    assert LabelsNeeded.from_dict(data) == hybrid


# --------------------------------------------------------------------------- describe


def _needed(**overrides: object) -> LabelsNeeded:
    base: dict[str, object] = {
        "strategy": "text.embedding-head",
        "kind": "hybrid",
        "beats_pretrained_at": 2,
        "beats_pretrained_delta": 0.05,
        "target": 0.9,
        "target_reached_at": 64,
        "target_estimate": 41.3,
        "target_estimate_low": 30.2,
        "target_estimate_high": 55.0,
        "extrapolated": False,
        "fitted_ceiling": 0.95,
    }
    base.update(overrides)
    return LabelsNeeded(**base)  # type: ignore[arg-type]


def test_describe_beats_and_reaches_target() -> None:
    (line,) = describe([_needed()], pretrained="text.zero-shot-embeddings")
    assert line.startswith(
        "text.embedding-head beats the pre-trained model (text.zero-shot-embeddings) "
        "from 2 labels per class"
    )
    assert "; reaches 0.90 accuracy at 64 per class (fitted curve: about 41)" in line


def test_describe_never_beats() -> None:
    item = _needed(strategy="text.tfidf-linear", beats_pretrained_at=None, target=None)
    assert describe([item], pretrained="zs") == [
        "text.tfidf-linear does not beat the pre-trained model at any measured budget"
    ]


def test_describe_extrapolated_estimate_with_range() -> None:
    item = _needed(
        target=0.95,
        target_reached_at=None,
        target_estimate=183.0,
        target_estimate_low=118.0,
        target_estimate_high=404.0,
        extrapolated=True,
    )
    (line,) = describe([item], pretrained="zs", metric="macro_f1")
    assert line.endswith(
        "would reach 0.95 macro_f1 at about 180 per class (extrapolated, 95 % range 120–400)"
    )


def test_describe_open_ended_range_and_unreachable_target() -> None:
    open_ended = _needed(
        target_reached_at=None,
        target_estimate=250.0,
        target_estimate_high=math.inf,
        extrapolated=True,
    )
    assert "95 % range 30 or more" in describe([open_ended], pretrained=None)[0]
    unreachable = _needed(
        target=0.99, target_reached_at=None, target_estimate=math.inf, fitted_ceiling=0.931
    )
    (line,) = describe([unreachable], pretrained=None)
    assert (
        line == "text.embedding-head is not expected to reach 0.99 accuracy (fitted ceiling 0.93)"
    )


def test_describe_without_pretrained_says_nothing_about_beating() -> None:
    lines = describe([_needed(), _needed(strategy="x", target=None)], pretrained=None)
    assert lines == [
        "text.embedding-head reaches 0.90 accuracy at 64 per class (fitted curve: about 41)"
    ]
    assert all("pre-trained" not in line for line in lines)
