"""Metrics of ``tabular-classification``: ranking quality, calibration, and money.

Conventions:

- **Binary**: ``y_true`` holds 0 and 1 (or bools, 1 = positive, e.g. fraud); ``score`` is 1-D,
  higher meaning more likely positive (a probability for ``brier``, any number otherwise).
- **Multi-class** (``roc_auc``, ``pr_auc``, ``brier``): ``y_true`` holds class indices
  ``0 .. k-1`` and ``score`` is ``(n, k)``, one column per class. ROC-AUC and PR-AUC are
  one-vs-rest, macro-averaged (unweighted) over the classes that occur in ``y_true``; the Brier
  score sums the squared errors over the ``k`` columns (so it lies in ``[0, 2]``).
- ``sample_weight`` weighs rows; integer counts give exactly the metric of the rows repeated
  that many times. A paired bootstrap draws counts once per replicate
  (``rng.multinomial(n, [1 / n] * n)``) and passes the same counts to every model's metric,
  without copying any array.

A metric undefined on its input (one class only, a NaN score) raises ``ValueError``.

Cost model of ``best_threshold`` (amounts in the unit of the amount column): a row whose score is
at or above the threshold is flagged and reviewed, which costs ``cost_fp`` whether it is a fraud
or not; a flagged fraud is stopped, so its amount is not lost; a fraud that is not flagged costs
its amount; a legitimate row that is not flagged costs nothing. So, at threshold ``t``::

    loss(t) = cost_fp * #(score >= t) + sum(amount[fraud and score < t])

Without a model nothing is flagged and every fraud is lost: ``no_model_loss = sum(amount[fraud])``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from crossover.errors import ConfigError, DataError

__all__ = [
    "SCORE_GLOSSARY",
    "ThresholdResult",
    "best_threshold",
    "brier",
    "decision_threshold",
    "loss_at_threshold",
    "pr_auc",
    "recall_at_fpr",
    "roc_auc",
]

#: What the probability metrics of a table mean (the task's glossary entries).
SCORE_GLOSSARY = {
    "pr_auc": "average precision of the positive class (area under the precision-recall "
    "curve, no interpolation); a random ranking scores the positive rate. Multi-class: "
    "one-vs-rest, macro-averaged",
    "roc_auc": "area under the ROC curve of the positive class (one-vs-rest macro average for "
    "several classes); 0.5 is a random ranking",
    "recall_at_fpr": "binary: the share of positives caught at a threshold whose false-positive "
    "rate is at most --fpr (default 0.01)",
    "brier": "mean squared error of the predicted probabilities (lower is better)",
}

# Floating-point slack when comparing a false-positive rate with the allowed one (7/100 vs 0.07).
_FPR_SLACK = 1e-12

# A binary metric of (y as 0.0/1.0, score, weights).
_Curve = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def roc_auc(
    y_true: ArrayLike, score: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Area under the ROC curve; tied scores count one half (the curve's diagonal step).

    Equals scikit-learn's ``roc_auc_score`` (``multi_class="ovr"``, ``average="macro"`` for a
    2-D ``score``).
    """
    return _binary_or_macro(_roc_auc, y_true, score, sample_weight)


def pr_auc(y_true: ArrayLike, score: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Average precision: ``sum_n (R_n - R_(n-1)) * P_n`` over the distinct score thresholds.

    Precision and recall at each threshold, without interpolation; equals scikit-learn's
    ``average_precision_score``. The headline metric for rare positives: a model that ranks at
    random scores the positive rate, not 0.5.
    """
    return _binary_or_macro(_average_precision, y_true, score, sample_weight)


def recall_at_fpr(
    y_true: ArrayLike,
    score: ArrayLike,
    fpr: float = 0.01,
    *,
    sample_weight: ArrayLike | None = None,
) -> float:
    """The highest recall of a threshold whose false-positive rate is at most ``fpr``.

    The thresholds are the distinct scores and ``+inf`` (flag nothing: recall 0, FPR 0). A row
    is flagged when its score is at or above the threshold, so tied scores are flagged together;
    no interpolation between thresholds (a random mix of two thresholds is not deployable).
    Binary only.
    """
    if not 0.0 <= fpr <= 1.0:
        raise ConfigError(f"--fpr must lie between 0 and 1, got {fpr}")
    y, s, w = _binary_inputs(y_true, score, sample_weight)
    tp, fp, _ = _cumulative_counts(y, s, w)
    n_neg = fp[-1]
    allowed = fp <= fpr * n_neg * (1 + _FPR_SLACK)
    # fp never decreases as the threshold falls, so the allowed thresholds form a prefix.
    return float(tp[allowed][-1] / tp[-1]) if allowed.any() else 0.0


def brier(y_true: ArrayLike, proba: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Mean squared error of the probabilities: ``mean((p - y)^2)``, summed over classes.

    Equals scikit-learn's ``brier_score_loss`` (``scale_by_half=False`` for a 2-D ``proba``).
    """
    p = np.asarray(proba, dtype=float)
    if np.isnan(p).any() or p.min() < 0.0 or p.max() > 1.0:
        raise ValueError("brier needs probabilities between 0 and 1, without NaN")
    if p.ndim == 1:
        y, _, w = _binary_inputs(y_true, p, sample_weight, need_both=False)
        return float(np.average((p - y) ** 2, weights=w))
    y, w = _multiclass_inputs(y_true, p, sample_weight)
    onehot = np.eye(p.shape[1])[y]
    return float(np.average(((p - onehot) ** 2).sum(axis=1), weights=w))


@dataclass(frozen=True)
class ThresholdResult:
    """The threshold that minimises the loss of the module's cost model, and what it saves.

    ``threshold`` is a score: flag the rows scoring at or above it (``inf`` when flagging nothing
    is best). ``loss``, ``no_model_loss`` and ``saved = no_model_loss - loss`` are in the unit of
    the amount column; ``saved`` is never negative, since flagging nothing is a candidate.
    """

    threshold: float
    loss: float
    no_model_loss: float
    saved: float
    n_flagged: int
    n_caught: int


def best_threshold(
    y_true: ArrayLike, score: ArrayLike, amount: ArrayLike, cost_fp: float
) -> ThresholdResult:
    """The score threshold with the lowest total loss on these rows (module's cost model).

    Candidates are every distinct score and ``+inf``; among equal losses the highest threshold
    (fewest rows flagged) wins. The threshold is fitted to the rows it is scored on, so
    ``saved`` is optimistic: choose it on validation rows, then report ``loss_at_threshold`` on
    the test rows.
    """
    y, s, a = _loss_inputs(y_true, score, amount, cost_fp)
    order = np.argsort(-s, kind="stable")
    ends = _group_ends(s[order])
    n_flagged = ends + 1
    caught = np.cumsum(y[order] * a[order])[ends]
    n_caught = np.cumsum(y[order])[ends]
    no_model = float(np.sum(y * a))
    losses = np.r_[no_model, cost_fp * n_flagged + (no_model - caught)]
    best = int(np.argmin(losses))
    if best == 0:
        return ThresholdResult(float("inf"), no_model, no_model, 0.0, 0, 0)
    loss = float(losses[best])
    return ThresholdResult(
        threshold=float(s[order][ends[best - 1]]),
        loss=loss,
        no_model_loss=no_model,
        saved=no_model - loss,
        n_flagged=int(n_flagged[best - 1]),
        n_caught=int(n_caught[best - 1]),
    )


def loss_at_threshold(
    y_true: ArrayLike, score: ArrayLike, amount: ArrayLike, cost_fp: float, threshold: float
) -> float:
    """The loss of the module's cost model when flagging the rows scoring ``>= threshold``."""
    y, s, a = _loss_inputs(y_true, score, amount, cost_fp)
    flagged = s >= threshold
    return float(cost_fp * flagged.sum() + np.sum(a[(y == 1) & ~flagged]))


def _binary_or_macro(
    metric: _Curve, y_true: ArrayLike, score: ArrayLike, sample_weight: ArrayLike | None
) -> float:
    s = np.asarray(score, dtype=float)
    if s.ndim == 1:
        return metric(*_binary_inputs(y_true, s, sample_weight))
    y, w = _multiclass_inputs(y_true, s, sample_weight)
    present = [k for k in range(s.shape[1]) if np.any((y == k) & (w > 0))]
    if len(present) < 2:
        raise ValueError("a one-vs-rest metric needs rows of at least two classes in y_true")
    return float(np.mean([metric((y == k).astype(float), s[:, k], w) for k in present]))


def _roc_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    tp, fp, _ = _cumulative_counts(y, s, w)
    tpr = np.r_[0.0, tp / tp[-1]]
    fpr = np.r_[0.0, fp / fp[-1]]
    return float(np.trapezoid(tpr, fpr))


def _average_precision(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    tp, fp, _ = _cumulative_counts(y, s, w)
    flagged = tp + fp
    precision = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _group_ends(sorted_desc: np.ndarray) -> np.ndarray:
    """The last position of each run of equal values in a sorted array."""
    ends: np.ndarray = np.r_[np.flatnonzero(np.diff(sorted_desc)), len(sorted_desc) - 1]
    return ends


def _cumulative_counts(
    y: np.ndarray, s: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted true and false positives when flagging ``score >= t``, ``t`` falling."""
    order = np.argsort(-s, kind="stable")
    ends = _group_ends(s[order])
    tp = np.cumsum(y[order] * w[order])[ends]
    fp = np.cumsum((1.0 - y[order]) * w[order])[ends]
    return tp, fp, s[order][ends]


def _weights(sample_weight: ArrayLike | None, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,) or np.isnan(w).any() or w.min() < 0:
        raise ValueError(f"sample_weight must be {n} non-negative numbers")
    return w


def _binary_inputs(
    y_true: ArrayLike, score: ArrayLike, sample_weight: ArrayLike | None, need_both: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(score, dtype=float)
    if s.ndim != 1 or y.shape != s.shape:
        raise ValueError(f"y_true {y.shape} and score {s.shape} must be two arrays of one length")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold 0 and 1 (1 = positive) for a 1-D score")
    if np.isnan(s).any():
        raise ValueError("score holds NaN")
    y = y.astype(float)
    w = _weights(sample_weight, len(y))
    if need_both and (np.sum(y * w) == 0 or np.sum((1 - y) * w) == 0):
        missing = "positive" if np.sum(y * w) == 0 else "negative"
        raise ValueError(f"y_true holds no {missing} row; the metric is undefined")
    return y, s, w


def _multiclass_inputs(
    y_true: ArrayLike, s: np.ndarray, sample_weight: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    if s.ndim != 2 or y.shape != (s.shape[0],):
        raise ValueError(f"y_true {y.shape} must have one entry per row of score {s.shape}")
    if np.isnan(s).any():
        raise ValueError("score holds NaN")
    if not np.isin(y, np.arange(s.shape[1])).all():
        raise ValueError(f"y_true must hold class indices 0 .. {s.shape[1] - 1}")
    return y.astype(int), _weights(sample_weight, len(y))


def decision_threshold(
    y: np.ndarray, score: np.ndarray, amount: np.ndarray, cost_fp: float, seed: int = 0
) -> dict[str, Any]:
    """The expected-loss threshold of one model on the test rows, and the money it saves.

    Cost model: this module's (a flagged row costs ``cost_fp`` to review
    and stops a fraud; a missed fraud costs its amount). A threshold fitted to the rows it is
    scored on flatters itself, so the loss is cross-fitted: the test rows are cut into two
    stratified halves, the threshold chosen on one half is scored on the other and vice versa,
    and the two losses add up to an out-of-sample loss on every test row. ``threshold`` is
    the one chosen on all test rows (the one to deploy).
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    amount = np.nan_to_num(np.asarray(amount, dtype=float), nan=0.0)
    chosen = best_threshold(y, score, amount, cost_fp)
    loss = 0.0
    folds = StratifiedKFold(2, shuffle=True, random_state=seed)
    for fit_rows, eval_rows in folds.split(score.reshape(-1, 1), y):
        t = best_threshold(y[fit_rows], score[fit_rows], amount[fit_rows], cost_fp).threshold
        loss += loss_at_threshold(y[eval_rows], score[eval_rows], amount[eval_rows], cost_fp, t)
    no_model = float(np.sum(amount[y == 1]))
    return {
        "threshold": chosen.threshold,
        "flagged": chosen.n_flagged,
        "caught": chosen.n_caught,
        "loss": loss,
        "no_model_loss": no_model,
        "saved": no_model - loss,
        "saved_per_1k_rows": (no_model - loss) / len(y) * 1000.0,
        "in_sample_saved": chosen.saved,
        "rows": len(y),
        "cost_fp": cost_fp,
    }


def _loss_inputs(
    y_true: ArrayLike, score: ArrayLike, amount: ArrayLike, cost_fp: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not (np.isfinite(cost_fp) and cost_fp >= 0):
        raise ConfigError(f"--cost-fp must be a non-negative number, got {cost_fp}")
    y, s, _ = _binary_inputs(y_true, score, None, need_both=False)
    a = np.asarray(amount, dtype=float)
    if a.shape != y.shape:
        raise ValueError(f"amount {a.shape} must have one entry per row, like y_true {y.shape}")
    bad = ~np.isfinite(a) | (a < 0)
    bad_positive = np.flatnonzero(bad & (y == 1))
    if bad_positive.size:
        raise DataError(
            f"{bad_positive.size} positive row(s) have a missing, infinite or negative amount "
            f"(first at row {bad_positive[0]}); fill them in the --amount column or remove "
            "those rows"
        )
    # Only the amounts of positives enter the loss; a legitimate row's amount may be anything.
    return y, s, np.where(y == 1, a, 0.0)
