"""The ``text-classification`` task: stratified holdout, accuracy and macro-F1."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossover.data import (
    Dataset,
    TaskSpec,
    as_frame,
    check_descriptions,
    check_flat,
    load_label_descriptions,
)
from crossover.errors import DataError
from crossover.evaluation.metrics import LABEL_GLOSSARY, accuracy, macro_f1
from crossover.tasks._base import Split, Task
from crossover.tasks._classification import prepare
from crossover.tasks.text.checks import check_classes, check_test, clean_rows
from crossover.tasks.text.columns import infer_columns

__all__ = ["TASK", "read", "split"]

logger = logging.getLogger("crossover")
TASK_NAME = "text-classification"

TEST_SIZE = 0.2


def read(
    data: str | Path | pd.DataFrame,
    *,
    text: str | None = None,
    label: str | None = None,
    test: str | Path | pd.DataFrame | None = None,
    label_descriptions: str | Path | dict[str, str] | None = None,
    strict: bool = False,
    **_other_tasks: Any,
) -> Dataset:
    """Read and validate labelled texts (``crossover.load(..., task="text-classification")``).

    ``text`` and ``label`` are column names, inferred when there is exactly one candidate
    (see ``Dataset.inferred``); ``test`` a fixed test set with the same columns;
    ``label_descriptions`` label -> description (a mapping, or a YAML/JSON file) for the
    pre-trained strategies; ``strict`` raises instead of dropping rows with an empty text or
    label. Options of other tasks' readers are ignored. A ``DataError`` names the file, the
    column or the value, and what to do.
    """
    warnings: list[str] = []
    frame, source = as_frame(data, warnings)
    if text is not None and label is not None:
        check_flat(frame, (text, label), source)
    else:  # any column may turn out to be the text or the label
        check_flat(frame, frame.columns, source, ", or name other columns with --text and --label")
    text_col, label_col, inferred = infer_columns(frame, text, label, source)
    frame = clean_rows(frame, text_col, label_col, source, strict, warnings)
    check_classes(frame, label_col, source)

    test_frame: pd.DataFrame | None = None
    test_source: str | None = None
    if test is not None:
        raw_test, test_source = as_frame(test, warnings)
        for column, flag in ((text_col, "--text"), (label_col, "--label")):
            if column not in raw_test.columns:
                raise DataError(
                    f"{test_source}: no column {column!r} ({flag}, as in the training data); "
                    f"the columns are: {', '.join(map(repr, raw_test.columns))}"
                )
        check_flat(raw_test, (text_col, label_col), test_source)
        test_frame = clean_rows(raw_test, text_col, label_col, test_source, strict, warnings)
        check_test(frame, test_frame, text_col, label_col, test_source, warnings)

    descriptions: dict[str, str] | None = None
    if label_descriptions is not None:
        if isinstance(label_descriptions, dict):
            descriptions, desc_source = dict(label_descriptions), "label descriptions"
        else:
            descriptions = load_label_descriptions(label_descriptions)
            desc_source = str(label_descriptions)
        check_descriptions(descriptions, set(frame[label_col]), desc_source, warnings)

    spec = TaskSpec(TASK_NAME, (text_col,), label_col, descriptions)
    for w in warnings:
        logger.warning(w)
    return Dataset(frame, spec, test_frame, source, test_source, warnings, inferred)


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
    name=TASK_NAME,
    metrics={"accuracy": accuracy, "macro_f1": macro_f1},
    headline="accuracy",
    split=split,
    test_size=TEST_SIZE,
    read=read,
    prepare=prepare,
    glossary=LABEL_GLOSSARY,
)


def labels_of(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].astype(str).to_numpy(dtype=object)
