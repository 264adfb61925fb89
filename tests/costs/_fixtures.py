"""A hand-made Study whose measurements are chosen, so that costs can be computed by hand."""

from __future__ import annotations

from typing import Any

import numpy as np

from crossover.evaluation.trials import Trial, TrialResult
from crossover.study import Study

N_TEST = 400
LABELS = ["a", "b", "c", "d"]


def y_true() -> list[str]:
    return [LABELS[i % 4] for i in range(N_TEST)]


def predictions(n_wrong: int, offset: int = 0) -> list[str]:
    """The true labels with ``n_wrong`` rows (from ``offset``) shifted to the next label."""
    truth = y_true()
    out = list(truth)
    for i in range(offset, offset + n_wrong):
        out[i] = LABELS[(LABELS.index(truth[i]) + 1) % 4]
    return out


def result(
    strategy: str,
    kind: str,
    *,
    n_wrong: int,
    offset: int = 0,
    fit_s: float = 0.0,
    throughput: float = 100.0,
    p95_ms: float = 5.0,
    size_mb: float | None = None,
    n_train: int = 1000,
    api: dict[str, Any] | None = None,
    timing: dict[str, Any] | None = None,
) -> TrialResult:
    preds = predictions(n_wrong, offset)
    accuracy = float(np.mean(np.asarray(preds) == np.asarray(y_true())))
    budget: str | int = 0 if kind == "pretrained" else "full"
    return TrialResult(
        trial=Trial(strategy=strategy, budget=budget, split_id="s"),
        kind=kind,
        metrics={"accuracy": accuracy, "macro_f1": accuracy},
        predictions=preds,
        n_train=0 if kind == "pretrained" else n_train,
        fit_s=fit_s,
        fit_wall_s=fit_s,
        encode_train_s=0.0,
        predict_s=0.1,
        latency_p50_ms=p95_ms / 2,
        latency_p95_ms=p95_ms,
        throughput_rows_s=throughput,
        size_mb=(0.0 if api else 10.0) if size_mb is None else size_mb,  # an API deploys nothing
        parameters=100,
        peak_mem_mb=50.0,
        n_classes=4,
        api=api,
        timing=timing,
    )


def make_study(*results: TrialResult, train_rows: int = 1000, cores: int = 2) -> Study:
    return Study(
        results=list(results),
        y_true=y_true(),
        task="text-classification",
        headline="accuracy",
        spec={},
        dataset={},
        split={"train_rows": train_rows, "test_rows": N_TEST},
        environment={"cpu_count": cores, "cpu": "test CPU"},
        settings={"n_resamples": 500, "seed": 0},
    )
