"""Bootstrap confidence intervals and paired differences, vectorised over resamples.

Every strategy is scored on the *same* resamples of the test rows, so the difference between
two strategies on one resample is a paired difference; its percentile interval tells whether
one is better than the other beyond test-set noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LABEL_METRICS", "BootstrapSamples", "bootstrap", "percentile_interval"]

DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class BootstrapSamples:
    """Metric values per strategy per metric, one per resample (shape ``(n_resamples,)``)."""

    samples: dict[str, dict[str, np.ndarray]]
    n_resamples: int
    seed: int


def percentile_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    # A resample on which a metric is undefined (no positive row drawn) is NaN: left out.
    low, high = np.nanpercentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def _resample_counts(n_rows: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each test row is drawn in each resample: shape (n_resamples, n_rows)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=n_resamples).astype(
        np.float32
    )


def _one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(codes), n_classes), dtype=np.float32)
    out[np.arange(len(codes)), codes] = 1.0
    return out


def _macro_f1(counts: np.ndarray, true_oh: np.ndarray, pred_oh: np.ndarray) -> np.ndarray:
    tp = counts @ (true_oh * pred_oh)
    support = counts @ true_oh + counts @ pred_oh
    present = support > 0
    f1 = np.divide(2.0 * tp, support, out=np.zeros_like(tp), where=present)
    # Like scikit-learn: average over the labels present in the truth or the predictions.
    return np.asarray(f1.sum(axis=1) / np.maximum(present.sum(axis=1), 1), dtype=np.float64)


#: The metrics :func:`bootstrap` resamples from predicted labels.
LABEL_METRICS = ("accuracy", "macro_f1")


def bootstrap(
    y_true: np.ndarray,
    predictions: dict[str, np.ndarray],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    metrics: tuple[str, ...] = LABEL_METRICS,
) -> BootstrapSamples:
    """Accuracy and macro-F1 of every strategy on the same ``n_resamples`` resamples.

    The resamples depend on ``seed`` and the number of rows only, so two calls with the same
    seed on the same test rows are paired with each other too.
    """
    y_true = np.asarray(y_true, dtype=object)
    labels = sorted(set(y_true.tolist()).union(*(set(p.tolist()) for p in predictions.values())))
    code = {label: i for i, label in enumerate(labels)}
    true_codes = np.array([code[v] for v in y_true])
    true_oh = _one_hot(true_codes, len(labels))
    counts = _resample_counts(len(y_true), n_resamples, seed)
    samples: dict[str, dict[str, np.ndarray]] = {}
    for name, pred in predictions.items():
        pred_codes = np.array([code[v] for v in np.asarray(pred, dtype=object)])
        correct = (pred_codes == true_codes).astype(np.float32)
        samples[name] = {}
        if "accuracy" in metrics:
            samples[name]["accuracy"] = np.asarray(counts @ correct / len(y_true), dtype=np.float64)
        if "macro_f1" in metrics:
            pred_oh = _one_hot(pred_codes, len(labels))
            samples[name]["macro_f1"] = _macro_f1(counts, true_oh, pred_oh)
    return BootstrapSamples(samples, n_resamples, seed)
