"""Benchmark: ``text.embedding-head`` with its C chosen by cross-validation, against the old
fixed C=20 and an independent script (sentence-transformers + scikit-learn, C=1).

Data: banking77 (77 intents; training rows subsampled to N per class, seed 0, and the full
training set; always the full 3,080-row test set) and sms_spam (stratified 80/20 split, seed 0).
The independent script encodes every text itself with sentence-transformers (no crossover
code, no cache) and fits ``LogisticRegression(C=1, max_iter=1000)``, and at C=20 (which must
match the old head: the same vectors, the same model); the two heads go through
``EmbeddingHead.fit`` and ``predict`` with the shared embedding cache. Prints one table.

    .venv/bin/python benchmarks/embedding_head_c.py [--per-class 2,5,20] [--no-full]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
import pandas as pd
from _banking77 import DATA as BANKING77
from _banking77 import require_data

SMS = BANKING77.parent / "sms_spam" / "sms.tsv"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OLD_C = 20.0


class Independent:
    """sentence-transformers and scikit-learn only: the reference a user would write."""

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        from crossover.models._resolve import resolve_model  # only to find the local folder

        self.encoder = SentenceTransformer(str(resolve_model(MODEL).path), device="cpu")
        self.vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if todo:
            out = self.encoder.encode(todo, batch_size=64, convert_to_numpy=True)
            self.vectors.update(zip(todo, out, strict=True))
        return np.stack([self.vectors[t] for t in texts])

    def accuracy(self, train: pd.DataFrame, test: pd.DataFrame, C: float = 1.0) -> float:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=C, max_iter=1000)
        clf.fit(self.encode(train.text.tolist()), train.label.to_numpy())
        pred = clf.predict(self.encode(test.text.tolist()))
        return float(np.mean(pred == test.label.to_numpy()))


def head_run(train: pd.DataFrame, test: pd.DataFrame, C: float | None) -> tuple[float, float, Any]:
    """Accuracy, fit seconds (every embedding already cached: the head alone) and the head."""
    from crossover.models import get_embedder
    from crossover.strategies.text import EmbeddingHead

    get_embedder(MODEL).encode(train.text.tolist() + test.text.tolist())  # fill the cache
    head = EmbeddingHead(MODEL, C=C)
    start = time.perf_counter()
    head.fit(train.text.tolist(), train.label.tolist())
    fit_s = time.perf_counter() - start
    accuracy = float(np.mean(head.predict(test.text.tolist()) == test.label.to_numpy()))
    return accuracy, fit_s, head


def data_sets(per_class: list[int], full: bool) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    from sklearn.model_selection import train_test_split

    train = pd.read_csv(BANKING77 / "train.csv").rename(columns={"category": "label"})
    test = pd.read_csv(BANKING77 / "test.csv").rename(columns={"category": "label"})
    out = []
    for n in per_class:
        sample = train.groupby("label", group_keys=False).sample(n=n, random_state=0)
        out.append((f"banking77, {n}/class ({len(sample):,} rows)", sample, test))
    if full:
        out.append((f"banking77, full ({len(train):,} rows)", train, test))
    sms = pd.read_csv(SMS, sep="\t").rename(columns={"msg": "text"})
    sms_train, sms_test = train_test_split(sms, test_size=0.2, stratify=sms.label, random_state=0)
    out.append((f"sms_spam, 80/20 ({len(sms_train):,} rows)", sms_train, sms_test))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", default="2,5,20", help="banking77 subsample sizes")
    parser.add_argument("--no-full", action="store_true", help="skip banking77's full train")
    args = parser.parse_args()
    require_data()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sizes = [int(n) for n in args.per_class.split(",") if n]
    reference = Independent()
    print(
        "| data (train rows) | test rows | independent, C=1 | independent, C=20 "
        "| head, C=20 (old) | head, CV | CV's C | fit s, C=20 / CV |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, train, test in data_sets(sizes, not args.no_full):
        independent = reference.accuracy(train, test)
        independent_old = reference.accuracy(train, test, OLD_C)
        old, old_s, _ = head_run(train, test, OLD_C)
        new, fit_s, head = head_run(train, test, None)
        chosen = f"{head.C_:g}" + ("" if head.cv_accuracy_ else " (fallback)")
        print(
            f"| {name} | {len(test):,} | {independent:.3f} | {independent_old:.3f} | {old:.3f} "
            f"| {new:.3f} | {chosen} "
            f"| {old_s:.1f} / {fit_s:.1f} |",
            flush=True,
        )
        if head.cv_accuracy_:
            print(f"  held-out accuracy by C: {head.cv_accuracy_}", flush=True)


if __name__ == "__main__":
    main()
