"""Benchmark: SetFit against a frozen encoder + head on banking77, 10 labelled rows per class.

Samples 10 training rows per class (770 rows) with ``sample_budget`` for one seed, then fits
``text.embedding-head`` (frozen all-MiniLM-L6-v2 + logistic regression, C in 1, 10, 100) and
``text.setfit`` (the same encoder fine-tuned on pairs, then the head) and prints test accuracy
on the 3,080 test rows, fit and predict seconds, as a Markdown table for benchmarks/RESULTS.md.
The heads are refitted on the fine-tuned encoder with other C values too: that costs a head fit,
not a fine-tune, so those rows show their own fit seconds only.

    CROSSOVER_CACHE_DIR=/tmp/xcache .venv/bin/python benchmarks/setfit_banking77.py \
        [--seed 0] [--per-class 10] [--variants labels,pairs4k]

The frozen-head rows embed through the embedding cache (fast when it already holds banking77);
SetFit encodes with its own fine-tuned encoder, always without cache. Targets on the 2-core
reference machine: a SetFit fit in <= 300 s, the best hybrid's accuracy >= 0.872.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "banking77"

# Extra SetFit runs, by name: constructor overrides.
VARIANTS: dict[str, dict[str, Any]] = {
    "labels": {"label_texts": True},
    "pairs4k": {"max_pairs": 4000},
    "cosine": {"loss": "cosine"},
    "lr5e-5": {"learning_rate": 5e-5},
    "batch32": {"batch_size": 32},
}


def accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(pred == truth))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument(
        "--variants",
        default="",
        help=f"comma-separated extra SetFit runs: {', '.join(VARIANTS)}",
    )
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: the shared data sets are needed for this benchmark")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        sys.exit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")

    from sklearn.linear_model import LogisticRegression

    from crossover.evaluation.budgets import sample_budget
    from crossover.strategies.text import EmbeddingHead, SetFit
    from crossover.strategies.text.zero_shot import label_prompt

    train = pd.read_csv(DATA / "train.csv")
    test = pd.read_csv(DATA / "test.csv")
    rows = sample_budget(train.category, args.per_class, args.seed)
    X = train.text.iloc[rows].tolist()
    y = train.category.iloc[rows].tolist()
    test_x, truth = test.text.tolist(), test.category.to_numpy()
    print(
        f"banking77: {len(X)} training rows ({args.per_class} per class, seed {args.seed}), "
        f"{len(test_x)} test rows, {os.cpu_count()} CPUs",
        flush=True,
    )
    print("| candidate | accuracy | fit_s | predict_s | notes |")
    print("|---|---|---|---|---|")

    def row(name: str, acc: float, fit_s: float, predict_s: float, notes: str = "") -> None:
        print(f"| {name} | {acc:.4f} | {fit_s:.1f} | {predict_s:.1f} | {notes} |", flush=True)

    for C in (1.0, 10.0, 100.0):
        frozen = EmbeddingHead(C=C, random_state=args.seed)
        start = time.perf_counter()
        frozen.fit(X, y)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        pred = frozen.predict(test_x)
        row(
            f"frozen MiniLM + LR, C={C:g}",
            accuracy(pred, truth),
            fit_s,
            time.perf_counter() - start,
            "embeddings from the cache",
        )

    runs: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    runs += [(name, VARIANTS[name]) for name in variants]
    for name, overrides in runs:
        setfit = SetFit(random_state=args.seed, **overrides)
        start = time.perf_counter()
        setfit.fit(X, y)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        pred = setfit.predict(test_x)
        predict_s = time.perf_counter() - start
        facts = (
            f"{setfit.train_pairs_} pairs, {setfit.train_steps_} steps, "
            f"training {setfit.train_seconds_:.0f} s"
            + (", stopped by the time budget" if setfit.stopped_by_time_budget_ else "")
        )
        row(f"SetFit {name} (C={setfit.C:g})", accuracy(pred, truth), fit_s, predict_s, facts)
        # Other heads on the same fine-tuned encoder (and the same rows, label texts included
        # where the variant adds them): the encoder is the expensive part.
        head_x, head_y = list(X), list(y)
        if setfit.label_texts:
            head_x += [label_prompt(str(c), {}) for c in setfit.classes_]
            head_y += [str(c) for c in setfit.classes_]
        train_vectors = setfit._encode(head_x)
        test_vectors = setfit._encode(test_x)
        for C in (1.0, 10.0, 50.0, 100.0):
            if C == setfit.C:
                continue
            start = time.perf_counter()
            head = LogisticRegression(C=C, max_iter=setfit.max_iter, random_state=args.seed)
            head.fit(train_vectors, np.asarray(head_y, dtype=object))
            head_s = time.perf_counter() - start
            row(
                f"SetFit {name} encoder + LR, C={C:g}",
                accuracy(head.predict(test_vectors), truth),
                head_s,
                float("nan"),
                "head refit only (add the fine-tune above)",
            )


if __name__ == "__main__":
    main()
