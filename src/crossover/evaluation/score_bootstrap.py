"""Bootstrap of metrics computed on scores (PR-AUC, ROC-AUC, recall at an FPR, Brier score).

The same resamples as ``bootstrap`` (``_resample_counts``: how often each test row is drawn),
so label metrics and score metrics of one study are paired with each other. Each metric is
computed for every resample at once: the rows are sorted by score once, and a resample is a
row of weights over the sorted rows, so a cumulative sum along the rows gives every
resample's true- and false-positive counts at every distinct threshold. Integer weights give
exactly the metric of the resampled rows (``crossover.tasks.tabular.metrics``, which the tests
compare against).
"""

from __future__ import annotations

import numpy as np

__all__ = ["binary_score_samples", "multiclass_score_samples"]


def _sorted_counts(
    y: np.ndarray, score: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative weighted true and false positives at each distinct threshold, highest
    score first: arrays (n_resamples, n_thresholds)."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    w = counts[:, order]
    pos = y[order].astype(np.float64)
    tp = np.cumsum(w * pos, axis=1)
    fp = np.cumsum(w * (1.0 - pos), axis=1)
    ends = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    return tp[:, ends], fp[:, ends]


def _average_precision(tp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    total = tp[:, -1:]
    flagged = tp + fp
    precision = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
    recall = np.divide(tp, total, out=np.zeros_like(tp), where=total > 0)
    steps = np.diff(np.c_[np.zeros(len(tp)), recall], axis=1)
    out = (steps * precision).sum(axis=1)
    # Undefined (NaN) without a positive or without a negative, like metrics.pr_auc.
    defined = (total[:, 0] > 0) & (fp[:, -1] > 0)
    return np.asarray(np.where(defined, out, np.nan), dtype=np.float64)


def _roc_auc(tp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    zero = np.zeros((len(tp), 1))
    tp0, fp0 = np.c_[zero, tp], np.c_[zero, fp]
    area = (np.diff(fp0, axis=1) * (tp0[:, 1:] + tp0[:, :-1]) / 2.0).sum(axis=1)
    denominator = tp[:, -1] * fp[:, -1]
    auc = np.divide(area, denominator, out=np.full(len(tp), np.nan), where=denominator > 0)
    return np.asarray(auc, dtype=np.float64)


def _recall_at_fpr(tp: np.ndarray, fp: np.ndarray, fpr: float) -> np.ndarray:
    allowed = fp <= fpr * fp[:, -1:] * (1 + 1e-12)
    # fp never decreases along a row, so the allowed thresholds are a prefix of it.
    last = allowed.sum(axis=1) - 1
    caught = np.where(last >= 0, tp[np.arange(len(tp)), np.maximum(last, 0)], 0.0)
    defined = (tp[:, -1] > 0) & (fp[:, -1] > 0)
    recall = np.divide(caught, tp[:, -1], out=np.full(len(tp), np.nan), where=defined)
    return np.asarray(recall, dtype=np.float64)


def binary_score_samples(
    y: np.ndarray, score: np.ndarray, counts: np.ndarray, *, fpr: float
) -> dict[str, np.ndarray]:
    """PR-AUC, ROC-AUC, recall at ``fpr`` and Brier score of one model on every resample.

    ``y`` holds 0/1, ``score`` the positive class's probability, ``counts`` the resample
    weights (n_resamples, n_rows). A resample without a positive (or negative) gives NaN.
    """
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    tp, fp = _sorted_counts(y, score, counts)
    return {
        "pr_auc": _average_precision(tp, fp),
        "roc_auc": _roc_auc(tp, fp),
        "recall_at_fpr": _recall_at_fpr(tp, fp, fpr),
        "brier": counts @ (score - y) ** 2 / counts.sum(axis=1),
    }


def multiclass_score_samples(
    codes: np.ndarray, proba: np.ndarray, counts: np.ndarray
) -> dict[str, np.ndarray]:
    """One-vs-rest macro PR-AUC and ROC-AUC (over the classes present in the resample) and
    the multi-class Brier score, on every resample. ``codes`` are class indices into the
    columns of ``proba``."""
    counts = np.asarray(counts, dtype=np.float64)
    proba = np.asarray(proba, dtype=np.float64)
    k = proba.shape[1]
    onehot = np.eye(k)[codes]
    pr, roc = [], []
    for c in range(k):
        y = onehot[:, c]
        if y.sum() == 0:
            continue
        tp, fp = _sorted_counts(y, proba[:, c], counts)
        pr.append(_average_precision(tp, fp))
        roc.append(_roc_auc(tp, fp))
    brier = counts @ ((proba - onehot) ** 2).sum(axis=1) / counts.sum(axis=1)
    return {"pr_auc": _mean_defined(pr), "roc_auc": _mean_defined(roc), "brier": brier}


def _mean_defined(per_class: list[np.ndarray]) -> np.ndarray:
    """Per resample, the mean over the classes where the metric is defined (NaN if none)."""
    stacked = np.vstack(per_class)
    defined = ~np.isnan(stacked)
    total = np.where(defined, stacked, 0.0).sum(axis=0)
    count = defined.sum(axis=0)
    mean = np.divide(total, count, out=np.full(stacked.shape[1], np.nan), where=count > 0)
    return np.asarray(mean, dtype=np.float64)
