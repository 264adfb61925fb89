"""The vectorised score bootstrap equals the row-by-row metrics of
``crossover.tasks.tabular.metrics`` on every resample (integer weights = repeated rows)."""

from __future__ import annotations

import numpy as np
import pytest

from crossover.evaluation.bootstrap import _resample_counts
from crossover.evaluation.score_bootstrap import binary_score_samples, multiclass_score_samples
from crossover.tasks.tabular import brier, pr_auc, recall_at_fpr, roc_auc

N_RESAMPLES = 300
# The data come from their own generator: default_rng(0) is also the resamples' stream.
DATA_SEED = 20240


def _binary(n: int = 80, seed: int = DATA_SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    score = np.round(np.clip(0.25 * y + rng.random(n) * 0.75, 0.0, 1.0), 1)  # many ties
    return y, score


def _multiclass(n: int = 90, k: int = 4, seed: int = DATA_SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k), n)
    proba[np.arange(n), codes] += 0.3
    proba = np.round(proba / proba.sum(axis=1, keepdims=True), 2)  # ties here too
    return codes, proba


def _multiclass_reference(
    codes: np.ndarray, proba: np.ndarray, weights: np.ndarray
) -> dict[str, float]:
    # The reference needs probabilities between 0 and 1 only; rounding keeps them there.
    return {
        "pr_auc": pr_auc(codes, proba, sample_weight=weights),
        "roc_auc": roc_auc(codes, proba, sample_weight=weights),
        "brier": brier(codes, proba, sample_weight=weights),
    }


@pytest.mark.parametrize("fpr", [0.0, 0.05, 0.2])
def test_binary_samples_equal_the_weighted_metrics_on_every_resample(fpr: float) -> None:
    y, score = _binary()
    assert len(np.unique(score)) < len(score)  # ties in the scores
    counts = _resample_counts(len(y), N_RESAMPLES, seed=0)

    got = binary_score_samples(y, score, counts, fpr=fpr)

    assert set(got) == {"pr_auc", "roc_auc", "recall_at_fpr", "brier"}
    assert all(v.shape == (N_RESAMPLES,) for v in got.values())
    for i in range(N_RESAMPLES):
        w = counts[i]
        assert got["pr_auc"][i] == pytest.approx(pr_auc(y, score, sample_weight=w), abs=1e-9)
        assert got["roc_auc"][i] == pytest.approx(roc_auc(y, score, sample_weight=w), abs=1e-9)
        expected_recall = recall_at_fpr(y, score, fpr, sample_weight=w)
        assert got["recall_at_fpr"][i] == pytest.approx(expected_recall, abs=1e-9)
        assert got["brier"][i] == pytest.approx(brier(y, score, sample_weight=w), abs=1e-9)


def test_weights_equal_repeated_rows() -> None:
    y, score = _binary(30)
    counts = _resample_counts(len(y), 5, seed=1)

    got = binary_score_samples(y, score, counts, fpr=0.1)

    for i in range(5):
        rows = np.repeat(np.arange(len(y)), counts[i].astype(int))
        assert got["pr_auc"][i] == pytest.approx(pr_auc(y[rows], score[rows]), abs=1e-9)
        assert got["roc_auc"][i] == pytest.approx(roc_auc(y[rows], score[rows]), abs=1e-9)


def test_multiclass_samples_equal_the_weighted_metrics_on_every_resample() -> None:
    codes, proba = _multiclass()
    counts = _resample_counts(len(codes), N_RESAMPLES, seed=0)

    got = multiclass_score_samples(codes, proba, counts)

    assert set(got) == {"pr_auc", "roc_auc", "brier"}
    for i in range(N_RESAMPLES):
        expected = _multiclass_reference(codes, proba, counts[i])
        for metric, value in expected.items():
            assert got[metric][i] == pytest.approx(value, abs=1e-9), (metric, i)


def test_multiclass_averages_over_the_classes_present_in_the_resample() -> None:
    codes, proba = _multiclass(n=40)
    counts = np.ones((2, len(codes)))
    counts[0, codes == 2] = 0.0  # class 2 absent from the first resample
    counts[1, codes == 0] = 3.0

    got = multiclass_score_samples(codes, proba, counts)

    for i in range(2):
        expected = _multiclass_reference(codes, proba, counts[i])
        for metric, value in expected.items():
            assert got[metric][i] == pytest.approx(value, abs=1e-9), (metric, i)


def test_a_resample_without_a_positive_gives_nan() -> None:
    y, score = _binary(40)
    counts = _resample_counts(len(y), 4, seed=0)
    counts[1, y == 1] = 0.0

    got = binary_score_samples(y, score, counts, fpr=0.1)

    for metric in ("pr_auc", "roc_auc", "recall_at_fpr"):
        assert np.isnan(got[metric][1]), metric
        assert np.isfinite(np.delete(got[metric], 1)).all(), metric
    # The Brier score needs no positive.
    assert got["brier"][1] == pytest.approx(brier(y, score, sample_weight=counts[1]), abs=1e-12)
    with pytest.raises(ValueError, match="no positive"):
        pr_auc(y, score, sample_weight=counts[1])


def test_a_resample_without_a_negative_gives_nan() -> None:
    y, score = _binary(40)
    counts = np.ones((1, len(y)))
    counts[0, y == 0] = 0.0

    got = binary_score_samples(y, score, counts, fpr=0.1)

    for metric in ("pr_auc", "roc_auc", "recall_at_fpr"):
        assert np.isnan(got[metric][0]), metric
    with pytest.raises(ValueError, match="no negative"):
        pr_auc(y, score, sample_weight=counts[0])


def test_a_multiclass_resample_of_one_class_gives_nan_without_a_warning() -> None:
    codes = np.array([0, 0, 1, 1, 2, 2])
    proba = np.full((6, 3), 1.0 / 3.0)
    counts = np.array([[2.0, 4.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])

    got = multiclass_score_samples(codes, proba, counts)  # warnings are errors in the tests

    assert np.isnan(got["pr_auc"][0]) and np.isnan(got["roc_auc"][0])
    assert got["pr_auc"][1] == pytest.approx(pr_auc(codes, proba, sample_weight=counts[1]))


def test_float32_counts_give_the_same_values() -> None:
    y, score = _binary()
    counts = _resample_counts(len(y), 50, seed=3)
    assert counts.dtype == np.float32

    a = binary_score_samples(y, score, counts, fpr=0.05)
    b = binary_score_samples(y, score, counts.astype(np.float64), fpr=0.05)

    for metric in a:
        np.testing.assert_allclose(a[metric], b[metric], rtol=0, atol=1e-12)
