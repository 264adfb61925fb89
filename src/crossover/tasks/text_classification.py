"""The ``text-classification`` task: stratified holdout, accuracy and macro-F1."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from crossover.data import Dataset
from crossover.evaluation.metrics import accuracy, macro_f1
from crossover.tasks._base import Split, Task

__all__ = ["TASK", "split"]

TEST_SIZE = 0.2


def split(dataset: Dataset, seed: int) -> Split:
    """The fixed test set when given, else a stratified 20 % holdout drawn with ``seed``."""
    frame = dataset.frame
    if dataset.test is not None:
        train, test = frame, dataset.test
        description = f"fixed test set {dataset.test_source} ({len(test)} rows)"
        split_id = f"fixed-{dataset.fingerprint}"
    else:
        from sklearn.model_selection import train_test_split

        labels = frame[dataset.spec.target]
        n_classes = labels.nunique()
        test_size: float | int = TEST_SIZE
        if round(len(frame) * TEST_SIZE) < n_classes:
            # Stratification needs one test row per class at least.
            test_size = int(n_classes)
        train, test = train_test_split(
            frame, test_size=test_size, random_state=seed, stratify=labels
        )
        description = f"stratified holdout of {len(test)} rows ({TEST_SIZE:.0%}), seed {seed}"
        split_id = f"holdout-{dataset.fingerprint}-{seed}"
    digest = hashlib.sha256(split_id.encode()).hexdigest()[:12]
    return Split(train.reset_index(drop=True), test.reset_index(drop=True), digest, description)


TASK = Task(
    name="text-classification",
    metrics={"accuracy": accuracy, "macro_f1": macro_f1},
    headline="accuracy",
    split=split,
    test_size=TEST_SIZE,
)


def labels_of(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].astype(str).to_numpy(dtype=object)
