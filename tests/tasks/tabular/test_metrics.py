"""Metrics against scikit-learn's, recall at a false-positive rate against a brute force, and
the expected-loss threshold on a case worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    roc_auc_score,
    roc_curve,
)

from crossover.errors import ConfigError, DataError
from crossover.tasks.tabular import (
    best_threshold,
    brier,
    loss_at_threshold,
    pr_auc,
    recall_at_fpr,
    roc_auc,
)

SEEDS = range(6)


def _binary(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Rare positives and scores rounded to two places, so that many scores tie."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    y[:2] = [0, 1]
    score = np.clip(0.3 * y + rng.normal(0.3, 0.2, n), 0, 1).round(2)
    return y, score


def _multiclass(seed: int, n: int = 150, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(k), rng.integers(0, k, n - k)]
    # Small whole numbers, normalised: many rows share a probability, so scores tie.
    counts = rng.integers(1, 4, (n, k)).astype(float)
    counts[np.arange(n), y] += rng.integers(0, 3, n)
    return y, counts / counts.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_metrics_equal_scikit_learns(seed: int) -> None:
    y, score = _binary(seed)
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert pr_auc(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert brier(y, score) == pytest.approx(brier_score_loss(y, score), abs=1e-12)
    assert 0.5 < roc_auc(y, score) < 1.0  # the data is neither random nor separable


@pytest.mark.parametrize("seed", SEEDS)
def test_multiclass_metrics_equal_scikit_learns(seed: int) -> None:
    y, proba = _multiclass(seed)
    expected_roc = roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert roc_auc(y, proba) == pytest.approx(expected_roc, abs=1e-12)
    assert pr_auc(y, proba) == pytest.approx(average_precision_score(y, proba), abs=1e-12)
    expected_brier = brier_score_loss(y, proba, scale_by_half=False)
    assert brier(y, proba) == pytest.approx(expected_brier, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_metrics_with_count_weights_equal_the_repeated_rows(seed: int) -> None:
    y, score = _binary(seed)
    counts = np.random.default_rng(seed + 100).multinomial(len(y), np.full(len(y), 1 / len(y)))
    rows = np.repeat(np.arange(len(y)), counts)
    for metric in (roc_auc, pr_auc, brier):
        weighted = metric(y, score, sample_weight=counts)
        assert weighted == pytest.approx(metric(y[rows], score[rows]), abs=1e-12)
    weighted = recall_at_fpr(y, score, 0.05, sample_weight=counts)
    assert weighted == pytest.approx(recall_at_fpr(y[rows], score[rows], 0.05), abs=1e-12)
    assert roc_auc(y, score, sample_weight=counts) == pytest.approx(
        roc_auc_score(y, score, sample_weight=counts), abs=1e-12
    )
    assert pr_auc(y, score, sample_weight=counts) == pytest.approx(
        average_precision_score(y, score, sample_weight=counts), abs=1e-12
    )


def _brute_recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> float:
    best = 0.0  # flagging nothing: recall 0 at FPR 0
    for threshold in np.unique(score):
        flagged = score >= threshold
        false_positive_rate = np.sum(flagged & (y == 0)) / np.sum(y == 0)
        if false_positive_rate <= fpr + 1e-12:
            best = max(best, np.sum(flagged & (y == 1)) / np.sum(y == 1))
    return float(best)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fpr", [0.0, 0.01, 0.05, 0.1, 0.5, 1.0])
def test_recall_at_fpr_equals_a_brute_force(seed: int, fpr: float) -> None:
    y, score = _binary(seed)
    assert recall_at_fpr(y, score, fpr) == pytest.approx(_brute_recall_at_fpr(y, score, fpr))
    # The same figure from scikit-learn's ROC curve: its best point within the allowed FPR.
    fprs, tprs, _ = roc_curve(y, score, drop_intermediate=False)
    assert recall_at_fpr(y, score, fpr) == pytest.approx(tprs[fprs <= fpr + 1e-12].max())


def test_recall_at_fpr_flags_tied_scores_together() -> None:
    # 4 positives, 10 negatives.    threshold  flagged  false pos.  FPR  recall
    #                                >= 0.9     3        1           0.1  2/4
    #                                >= 0.8     6        3           0.3  3/4
    #                                >= 0.1     7        3           0.3  4/4
    #                                >= 0.05   14       10           1.0  4/4
    y = np.array([1, 1, 0, 1, 0, 0, 1] + [0] * 7)
    score = np.array([0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.1] + [0.05] * 7)
    assert recall_at_fpr(y, score, 0.05) == 0.0  # the tie at 0.9 holds a negative
    assert recall_at_fpr(y, score, 0.1) == 0.5
    assert recall_at_fpr(y, score, 0.29) == 0.5
    assert recall_at_fpr(y, score, 0.3) == 1.0


def test_best_threshold_on_a_hand_computed_case() -> None:
    # Rows by falling score; 1 = fraud. Flagging costs 10 a row; a missed fraud costs its amount.
    #   score   0.9  0.8  0.7  0.4  0.3  0.1
    #   fraud     1    0    1    0    0    1
    #   amount  100   50   30   20   10    5
    # No model: 100 + 30 + 5 = 135 lost.
    # Flag >= 0.9: 1 review (10) + missed 30 + 5       = 45
    #      >= 0.8: 2 reviews (20) + missed 30 + 5      = 55
    #      >= 0.7: 3 reviews (30) + missed 5           = 35   <- lowest
    #      >= 0.4: 40 + 5 = 45;  >= 0.3: 50 + 5 = 55;  >= 0.1: 60 + 0 = 60
    # Saved: 135 - 35 = 100.
    y = np.array([1, 0, 1, 0, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])
    amount = np.array([100.0, 50.0, 30.0, 20.0, 10.0, 5.0])
    result = best_threshold(y, score, amount, cost_fp=10.0)
    assert result.threshold == 0.7
    assert result.loss == pytest.approx(35.0)
    assert result.no_model_loss == pytest.approx(135.0)
    assert result.saved == pytest.approx(100.0)
    assert (result.n_flagged, result.n_caught) == (3, 2)
    # The same rows in another order give the same answer.
    order = np.array([3, 0, 5, 1, 4, 2])
    assert best_threshold(y[order], score[order], amount[order], 10.0) == result
    expected = {np.inf: 135.0, 0.9: 45.0, 0.8: 55.0, 0.7: 35.0, 0.4: 45.0, 0.3: 55.0, 0.1: 60.0}
    for threshold, loss in expected.items():
        assert loss_at_threshold(y, score, amount, 10.0, threshold) == pytest.approx(loss)


def test_best_threshold_flags_nothing_when_reviews_cost_more_than_frauds() -> None:
    y = np.array([1, 0, 1, 0])
    result = best_threshold(y, np.array([0.9, 0.5, 0.4, 0.1]), np.array([5.0, 9, 5, 9]), 6.0)
    assert result.threshold == np.inf
    assert (result.loss, result.no_model_loss, result.saved) == (10.0, 10.0, 0.0)
    assert (result.n_flagged, result.n_caught) == (0, 0)


def test_best_threshold_groups_tied_scores() -> None:
    # Ties at 0.5: flagging either of them flags both (2 reviews, 40), catching the 100 fraud.
    # >= 0.5: 2 * 20 + 0 = 40; no model: 100.
    y = np.array([0, 1, 0])
    result = best_threshold(y, np.array([0.5, 0.5, 0.2]), np.array([1.0, 100.0, 1.0]), 20.0)
    assert (result.threshold, result.loss, result.n_flagged) == (0.5, 40.0, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_best_threshold_is_the_lowest_loss_of_every_threshold(seed: int) -> None:
    y, score = _binary(seed)
    amount = np.random.default_rng(seed).gamma(2.0, 50.0, len(y))
    result = best_threshold(y, score, amount, cost_fp=5.0)
    losses = [loss_at_threshold(y, score, amount, 5.0, t) for t in [np.inf, *np.unique(score)]]
    assert result.loss == pytest.approx(min(losses))
    assert result.loss == pytest.approx(loss_at_threshold(y, score, amount, 5.0, result.threshold))
    assert result.saved == pytest.approx(np.sum(amount[y == 1]) - result.loss)


def test_metrics_refuse_undefined_inputs() -> None:
    with pytest.raises(ValueError, match="no positive row"):
        roc_auc(np.zeros(5), np.arange(5.0))
    with pytest.raises(ValueError, match="no negative row"):
        pr_auc(np.ones(5), np.arange(5.0))
    with pytest.raises(ValueError, match="0 and 1"):
        roc_auc(np.array([0, 1, 2]), np.arange(3.0))
    with pytest.raises(ValueError, match="NaN"):
        roc_auc(np.array([0, 1]), np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        brier(np.array([0, 1]), np.array([0.1, 1.2]))
    with pytest.raises(ValueError, match=r"class indices 0 \.\. 2"):
        roc_auc(np.array([0, 3]), np.full((2, 3), 1 / 3))
    with pytest.raises(ConfigError, match=r"--fpr must lie between 0 and 1, got 1\.5"):
        recall_at_fpr(np.array([0, 1]), np.array([0.1, 0.9]), 1.5)


def test_best_threshold_refuses_bad_costs_and_amounts() -> None:
    y, score = np.array([0, 1, 1]), np.array([0.1, 0.5, 0.9])
    with pytest.raises(ConfigError, match="--cost-fp must be a non-negative number, got -1"):
        best_threshold(y, score, np.ones(3), -1.0)
    with pytest.raises(DataError, match=r"1 positive row\(s\) .* \(first at row 2\).*--amount"):
        best_threshold(y, score, np.array([np.nan, 4.0, -2.0]), 1.0)
    # A legitimate row's amount never enters the loss, so it may be missing.
    assert best_threshold(y, score, np.array([np.nan, 4.0, 2.0]), 1.0).no_model_loss == 6.0
