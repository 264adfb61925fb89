"""Point metrics on label arrays; ``bootstrap`` computes the same metrics on resamples."""

from __future__ import annotations

import numpy as np

__all__ = ["LABEL_GLOSSARY", "accuracy", "macro_f1"]

#: What the label metrics mean (a classification task's glossary entries).
LABEL_GLOSSARY = {
    "accuracy": "share of test rows predicted correctly",
    "macro_f1": "unweighted mean of the per-class F1 scores",
}


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of rows whose predicted label equals the true one."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the labels in ``y_true`` or ``y_pred``."""
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))
