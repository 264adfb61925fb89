"""Benchmark: the custom tabular models on the credit-card fraud sample.

GbmClassifier, LinearClassifier and, for reference, a default ``LGBMClassifier()`` on the raw
numeric columns, over 5 repeated stratified 80/20 splits (``repeated_stratified_splits``, seed 0).
Prints a Markdown table: mean PR-AUC with a 95 % Student-t interval across the splits, ROC-AUC,
recall at 1 % FPR, Brier score, mean fit seconds and predict milliseconds per 1,000 rows.

    .venv/bin/python benchmarks/tabular_fraud.py [--repeats 5]

Data: ../shared/data/creditcard_fraud/creditcard_sample.csv (5,412 rows, 492 frauds).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from crossover.strategies.tabular.learners import GbmClassifier, LinearClassifier
from crossover.tasks.tabular import (
    brier,
    infer_column_types,
    pr_auc,
    recall_at_fpr,
    repeated_stratified_splits,
    roc_auc,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "creditcard_fraud"
SAMPLE = DATA / "creditcard_sample.csv"


class _RawLightGbm:
    """Default ``LGBMClassifier()`` on the numeric columns as they are (the reference)."""

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> _RawLightGbm:
        import lightgbm

        self.model_ = lightgbm.LGBMClassifier(verbose=-1).fit(frame.to_numpy(dtype=float), y)
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(frame.to_numpy(dtype=float)))


def _interval(values: list[float]) -> tuple[float, float]:
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * stats.sem(values)
    return mean, float(half)


def fit_predict(
    make: Callable[[], Any], features: pd.DataFrame, y: np.ndarray, splits: list[Any]
) -> dict[str, list[Any]]:
    """Per split: a new model fitted on the training rows; the positive class's probabilities
    on the test rows, fit seconds, and predict milliseconds per 1,000 rows."""
    out: dict[str, list[Any]] = {"proba": [], "fit_s": [], "predict_ms": []}
    for train, test in splits:
        model = make()
        start = time.perf_counter()
        model.fit(features.iloc[train], y[train])
        out["fit_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        proba = model.predict_proba(features.iloc[test])[:, 1]
        out["predict_ms"].append((time.perf_counter() - start) * 1000 * 1000 / len(test))
        out["proba"].append(np.asarray(proba, dtype=float))
    return out


def evaluate(
    make: Callable[[], Any], features: pd.DataFrame, y: np.ndarray, splits: list[Any]
) -> dict[str, list[float]]:
    runs = fit_predict(make, features, y, splits)
    scores: dict[str, list[float]] = {
        "pr_auc": [],
        "roc_auc": [],
        "recall_at_1pct_fpr": [],
        "brier": [],
        "fit_s": runs["fit_s"],
        "predict_ms": runs["predict_ms"],
    }
    for (_, test), proba in zip(splits, runs["proba"], strict=True):
        scores["pr_auc"].append(pr_auc(y[test], proba))
        scores["roc_auc"].append(roc_auc(y[test], proba))
        scores["recall_at_1pct_fpr"].append(recall_at_fpr(y[test], proba, 0.01))
        scores["brier"].append(brier(y[test], proba))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not SAMPLE.exists():
        raise SystemExit(f"{SAMPLE} is absent; this benchmark needs the shared data sets")
    frame = pd.read_csv(SAMPLE)
    types = infer_column_types(frame, "Class")
    features, y = frame.drop(columns="Class"), frame["Class"].to_numpy()
    splits = list(repeated_stratified_splits(y, n_repeats=args.repeats))
    candidates: dict[str, Callable[[], Any]] = {
        "GbmClassifier": lambda: GbmClassifier(types),
        "GbmClassifier (imbalance=balanced)": lambda: GbmClassifier(types, imbalance="balanced"),
        "GbmClassifier (imbalance=sqrt)": lambda: GbmClassifier(types, imbalance="sqrt"),
        "LinearClassifier": lambda: LinearClassifier(types),
        "LinearClassifier (class_weight=balanced)": lambda: LinearClassifier(
            types, class_weight="balanced"
        ),
        "LGBMClassifier() raw (reference)": _RawLightGbm,
    }
    evaluate(candidates["GbmClassifier"], features, y, splits[:1])  # warm up imports
    print(f"{len(frame)} rows, {int(y.sum())} frauds, {len(splits)} stratified 80/20 splits\n")
    print(
        "| model | PR-AUC (95 % CI) | ROC-AUC | recall @ 1 % FPR | Brier | fit s "
        "| predict ms / 1k rows |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, make in candidates.items():
        s = evaluate(make, features, y, splits)
        mean, half = _interval(s["pr_auc"])
        print(
            f"| {name} | {mean:.3f} ± {half:.3f} | {np.mean(s['roc_auc']):.3f} "
            f"| {np.mean(s['recall_at_1pct_fpr']):.3f} | {np.mean(s['brier']):.4f} "
            f"| {np.mean(s['fit_s']):.2f} | {np.mean(s['predict_ms']):.1f} |"
        )


if __name__ == "__main__":
    main()
