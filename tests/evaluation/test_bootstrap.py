from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from crossover.evaluation.bootstrap import _resample_counts, bootstrap, percentile_interval


@pytest.fixture
def labels() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), size=400)
    good = y.copy()
    flip = rng.random(400) < 0.1
    good[flip] = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), size=flip.sum())
    bad = y.copy()
    flip = rng.random(400) < 0.4
    bad[flip] = "a"
    return y, good, bad


def test_bootstrap_resamples_match_sklearn_on_drawn_rows(labels: tuple) -> None:
    y, good, _ = labels
    boot = bootstrap(y, {"good": good}, n_resamples=1000, seed=7)
    counts = _resample_counts(len(y), 1000, 7)
    for i in (0, 1, 500):
        rows = np.repeat(np.arange(len(y)), counts[i].astype(int))
        assert boot.samples["good"]["accuracy"][i] == pytest.approx(np.mean(y[rows] == good[rows]))
        expected = f1_score(y[rows], good[rows], average="macro", zero_division=0)
        assert boot.samples["good"]["macro_f1"][i] == pytest.approx(expected, rel=1e-5)


def test_bootstrap_interval_covers_point_and_is_seeded(labels: tuple) -> None:
    y, good, _ = labels
    a = bootstrap(y, {"good": good}, n_resamples=1000, seed=3).samples["good"]["accuracy"]
    b = bootstrap(y, {"good": good}, n_resamples=1000, seed=3).samples["good"]["accuracy"]
    np.testing.assert_array_equal(a, b)
    low, high = percentile_interval(a)
    point = np.mean(y == good)
    assert low < point < high
    assert high - low < 0.1


def test_bootstrap_paired_difference_detects_real_gap(labels: tuple) -> None:
    y, good, bad = labels
    boot = bootstrap(y, {"good": good, "bad": bad, "same": good.copy()}, n_resamples=1000)
    diff_bad = boot.samples["bad"]["accuracy"] - boot.samples["good"]["accuracy"]
    _low, high = percentile_interval(diff_bad)
    assert high < 0  # significantly worse
    diff_same = boot.samples["same"]["accuracy"] - boot.samples["good"]["accuracy"]
    assert np.all(diff_same == 0)
