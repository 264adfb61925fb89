"""Splits of ``tabular-classification``: by time, or repeated stratified holdouts.

With a time column, fraud teams train on the past and test on the most recent rows: a random split
would let the model see the future. Without one, a single random 80/20 split of a small table is
noisy (PR-AUC moves by about 0.03 from one split to another), so small tables are evaluated over
several stratified splits (``default_repeats``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from crossover.errors import ConfigError, DataError
from crossover.tasks.tabular.columns import sortable_times

__all__ = [
    "SMALL_MINORITY",
    "SMALL_ROWS",
    "default_repeats",
    "repeated_stratified_splits",
    "time_split",
]

# Below these, repeat the split: 5 repeats of a 20 % test set.
SMALL_ROWS = 20_000
SMALL_MINORITY = 500
_SMALL_REPEATS = 5


def default_repeats(n_rows: int, *, n_minority: int | None = None) -> int:
    """How many stratified splits to evaluate over: 5 for a small table, else 1.

    A table is small when it has fewer than 20,000 rows, or when its rarest class (``n_minority``,
    when given) has fewer than 500 rows: a 20 % test set then holds under 100 of them, and one
    split's PR-AUC is noisy. Larger tables give a steady figure from one split, and repeating
    would multiply the training time.
    """
    small = n_rows < SMALL_ROWS or (n_minority is not None and n_minority < SMALL_MINORITY)
    return _SMALL_REPEATS if small else 1


def repeated_stratified_splits(
    y: ArrayLike, n_repeats: int = 5, test_fraction: float = 0.2, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``n_repeats`` pairs ``(train_idx, test_idx)`` of row positions, stratified on ``y``.

    scikit-learn's ``StratifiedShuffleSplit``: each split keeps the class proportions and is
    drawn independently (test sets may overlap); the same ``seed`` gives the same splits, which
    is what lets every candidate see the same rows. The test set holds at least one row per class.
    """
    from sklearn.model_selection import StratifiedShuffleSplit

    _check_fraction(test_fraction)
    if n_repeats < 1:
        raise ConfigError(f"the number of repeated splits must be 1 or more, got {n_repeats}")
    labels = pd.Series(np.asarray(y))
    counts = labels.value_counts()
    if len(counts) < 2:
        raise DataError("the label has fewer than two classes; a stratified split needs two")
    single = [repr(c) for c in counts.index[counts < 2]]
    if single:
        raise DataError(
            f"class(es) {', '.join(single[:10])} have a single row; a stratified split needs "
            "two rows of each class: add examples or remove those rows"
        )
    n_test: float | int = test_fraction
    if math.ceil(len(labels) * test_fraction) < len(counts):
        n_test = len(counts)
    splitter = StratifiedShuffleSplit(n_splits=n_repeats, test_size=n_test, random_state=seed)
    for train, test in splitter.split(np.zeros(len(labels)), labels.to_numpy()):
        yield np.sort(train), np.sort(test)


def time_split(
    frame: pd.DataFrame, time_col: str, test_fraction: float = 0.2, *, label: str
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(train_idx, test_idx)``: the oldest rows train, the most recent test.

    The test rows are the most recent ``test_fraction`` of the rows (rounded, at least one);
    rows sharing the boundary time all go to the test side, so it may hold a little more. The
    time column may hold numbers (seconds, a counter), datetimes, or dates as text.

    Raises
    ------
    DataError
        When a time is missing or unreadable, when every row falls on the test side, or when a
        class of ``label`` occurs on one side only (naming it).
    """
    _check_fraction(test_fraction)
    columns = ", ".join(map(repr, frame.columns))
    if time_col not in frame.columns:
        raise ConfigError(
            f"--time names column {time_col!r}, which the table does not have; "
            f"the columns are: {columns}"
        )
    if label not in frame.columns:
        raise DataError(f"no label column {label!r}; pass --label COLUMN, one of: {columns}")
    times = sortable_times(frame[time_col], time_col)
    n_test = max(1, round(len(frame) * test_fraction))
    boundary = np.sort(times)[len(times) - n_test]
    is_test = times >= boundary
    if is_test.all():
        first = frame[time_col].iloc[[int(np.argmax(times == boundary))]].tolist()[0]
        raise DataError(
            f"the time column {time_col!r} has no row before the test period (the most recent "
            f"{test_fraction:.0%}, from {first!r}); with so few distinct times, split without "
            "--time"
        )
    train_idx, test_idx = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    _check_both_sides(frame[label], train_idx, test_idx, label, time_col, test_fraction)
    return train_idx, test_idx


def _check_fraction(test_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(
            f"the test fraction must lie strictly between 0 and 1, got {test_fraction}"
        )


def _check_both_sides(
    labels: pd.Series,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    label: str,
    time_col: str,
    test_fraction: float,
) -> None:
    train = set(labels.iloc[train_idx].dropna())
    test = set(labels.iloc[test_idx].dropna())
    for missing, side, other in (
        (train - test, "test rows (the most recent)", "training"),
        (test - train, "training rows (the oldest)", "test"),
    ):
        if missing:
            names = ", ".join(repr(c) for c in sorted(missing, key=str)[:10])
            raise DataError(
                f"splitting by {time_col!r}, the {side} hold no row of class(es) {names} of "
                f"column {label!r}, which the {other} rows have; raise the test fraction "
                f"(now {test_fraction:.0%}) or split without --time"
            )
