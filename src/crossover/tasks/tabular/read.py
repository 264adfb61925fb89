"""Reading a table for ``tabular-classification``: the file, its columns' kinds, the test set."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from crossover.data import Dataset, TaskSpec, as_frame
from crossover.errors import DataError
from crossover.tasks.tabular.prepare import labels_as_text, prepare_table

__all__ = ["TASK_NAME", "read"]

logger = logging.getLogger("crossover")
TASK_NAME = "tabular-classification"


def read(
    data: str | Path | pd.DataFrame,
    *,
    label: str | None = None,
    test: str | Path | pd.DataFrame | None = None,
    categorical: Sequence[str] | None = (),
    text_columns: Sequence[str] | None = (),
    drop: Sequence[str] | None = (),
    time: str | None = None,
    positive: str | None = None,
    amount: str | None = None,
    **_other_tasks: Any,
) -> Dataset:
    """Read and check a table (``crossover.load(..., task="tabular-classification")``).

    ``label`` is the label column (guessed from its name when not given); ``categorical`` and
    ``text_columns`` force those columns' kinds, ``drop`` leaves columns out (the other kinds
    are inferred); ``time`` is the column to split on (train on the past, test on the most
    recent rows); ``positive`` the positive class of a binary label (default: the rarer);
    ``amount`` the money column the decision threshold is priced with. Options of other
    tasks' readers are ignored.
    """
    categorical, text_columns, drop = categorical or (), text_columns or (), drop or ()
    warnings: list[str] = []
    frame, source = as_frame(data, warnings, typed=True)
    table, kinds, chosen, label_col = prepare_table(
        frame,
        source,
        label=label,
        categorical=categorical,
        text_columns=text_columns,
        drop=drop,
        time=time,
        positive=positive,
        amount=amount,
        warnings=warnings,
    )
    test_frame: pd.DataFrame | None = None
    test_source: str | None = None
    if test is not None:
        raw_test, test_source = as_frame(test, warnings, typed=True)
        missing = [c for c in table.columns if c not in raw_test.columns]
        if missing:
            raise DataError(
                f"{test_source}: no column(s) {', '.join(map(repr, missing))}, which the "
                "training data has; the test set needs the same columns"
            )
        raw_test = raw_test[raw_test[label_col].notna()]
        test_frame = raw_test[list(table.columns)].reset_index(drop=True)
        test_frame[label_col] = labels_as_text(raw_test[label_col]).to_numpy()
        unseen = sorted(set(test_frame[label_col]) - set(table[label_col]))
        if unseen:
            raise DataError(
                f"{test_source}: label(s) {unseen[:5]} do not occur in the training data; "
                "a model cannot predict a class it never saw"
            )
    inputs = tuple(kinds)
    spec = TaskSpec(
        TASK_NAME,
        inputs,
        label_col,
        positive=chosen,
        time=time,
        amount=amount,
        column_types=kinds,
    )
    inferred = {"label": label_col} if label is None else {}
    options = {
        "categorical": list(categorical),
        "text_columns": list(text_columns),
        "drop": list(drop),
        "time": time,
        "positive": positive,
        "amount": amount,
    }
    for w in warnings:
        logger.warning(w)
    return Dataset(
        table,
        spec,
        test_frame,
        source,
        test_source,
        warnings,
        inferred,
        {k: v for k, v in options.items() if v},
    )
