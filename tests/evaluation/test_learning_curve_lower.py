"""Learning curves of a metric where lower is better (an error): targets are maxima, the
power law is fitted to the negated error, every value comes back in the error's units."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from crossover.evaluation.learning_curve import describe, labels_needed

FLOOR, A, B = 0.5, 0.8, 0.6  # err(x) = FLOOR + A * x**-B
BUDGETS = (2, 4, 8, 16, 64)


def _points(noise: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        {
            "strategy": "zs",
            "kind": "pretrained",
            "budget": 0,
            "n_labels": 0,
            "n_classes": 1,
            "seed": 0,
            "score": 0.8,
        }
    ]
    for budget in BUDGETS:
        for seed in range(3):
            err = FLOOR + A * budget ** (-B) + noise * rng.standard_normal()
            rows.append(
                {
                    "strategy": "fc",
                    "kind": "custom",
                    "budget": budget,
                    "n_labels": budget,
                    "n_classes": 1,
                    "seed": seed,
                    "score": err,
                }
            )
    return pd.DataFrame(rows)


def test_labels_needed_lower_is_better_target_is_a_maximum() -> None:
    target = 0.6  # reached where A * x**-B = 0.1: x = 8 ** (1 / B) = 32
    [item] = labels_needed(_points(), {}, target=target, lower_is_better=True)
    assert item.target == target
    assert item.target_reached_at == 64  # 0.62 at 16, 0.58 at 64
    assert item.target_estimate == pytest.approx(8 ** (1 / B), rel=0.05)
    assert item.fitted_ceiling == pytest.approx(FLOOR, abs=0.01)  # the error's floor


def test_labels_needed_lower_is_better_below_the_floor_is_never_reached() -> None:
    [item] = labels_needed(_points(0.005), {}, target=0.4, lower_is_better=True)
    assert item.target_reached_at is None
    assert item.target_estimate is not None and math.isinf(item.target_estimate)
    [line] = describe([item], pretrained=None, metric="mase", lower_is_better=True)
    assert "is not expected to reach mase 0.40 or lower (fitted floor 0.4" in line


def test_labels_needed_lower_is_better_beats_where_the_error_is_significantly_lower() -> None:
    significance = {
        ("fc", 2): (0.1, 0.05, 0.15),  # higher error: worse
        ("fc", 4): (-0.02, -0.05, 0.01),  # tied
        ("fc", 8): (-0.08, -0.12, -0.04),  # lower error: beats
        ("fc", 16): (-0.1, -0.14, -0.06),
    }
    [item] = labels_needed(_points(), significance, lower_is_better=True)
    assert (item.beats_pretrained_at, item.beats_pretrained_delta) == (8, -0.08)
    [line] = describe([item], pretrained="zs", metric="mase", lower_is_better=True)
    assert line == "fc beats the pre-trained model (zs) from 8 labels per class (-0.08 mase)"
    # Read the other way round, the same differences beat it from 2.
    [higher] = labels_needed(_points(), significance)
    assert higher.beats_pretrained_at == 2
