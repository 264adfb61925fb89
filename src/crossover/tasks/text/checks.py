"""Checks of a text-classification table and its test set: empty rows, classes, leakage."""

from __future__ import annotations

import pandas as pd

from crossover.data import one_spelling
from crossover.errors import DataError

__all__ = ["check_classes", "check_test", "clean_rows", "normalise_for_leakage"]


def clean_rows(
    frame: pd.DataFrame, text: str, label: str, source: str, strict: bool, warnings: list[str]
) -> pd.DataFrame:
    """Keep the two columns as strings; drop rows with an empty text or label (error if strict)."""
    out = frame[[text, label]].copy()
    # 1, "1" and 1.0 in a JSON file are one label, not three; said when it happens.
    spelled, merged = one_spelling(out[label], f"label(s) of column {label!r}", source)
    if merged:
        out[label] = spelled
        warnings += merged
    texts = out[text].astype("string").str.strip()
    labels = out[label].astype("string").str.strip()
    for column, values, what in ((text, texts, "text"), (label, labels, "label")):
        empty = values.isna() | (values == "")
        n_empty = int(empty.sum())
        if n_empty == 0:
            continue
        first = int(empty.to_numpy().nonzero()[0][0]) + 2  # +1 for the header, +1 one-based
        if strict:
            raise DataError(
                f"{source}: {n_empty} row(s) have an empty or missing {what} in column "
                f"{column!r} (first at line {first}); fill or remove them, or drop --strict"
            )
        warnings.append(
            f"{source}: dropped {n_empty} row(s) with an empty or missing {what} in column "
            f"{column!r} (first at line {first})"
        )
    keep = ~(texts.isna() | (texts == "") | labels.isna() | (labels == ""))
    out = pd.DataFrame(
        {text: out[text][keep].astype(str).to_numpy(), label: labels[keep].astype(str).to_numpy()}
    )
    if out.empty:
        raise DataError(f"{source}: no rows left with both a text and a label")
    return out


def check_classes(frame: pd.DataFrame, label: str, source: str) -> None:
    counts = frame[label].value_counts()
    if len(counts) < 2:
        only = repr(counts.index[0]) if len(counts) else "none"
        raise DataError(
            f"{source}: column {label!r} has fewer than two classes (found {only}); "
            "a classifier needs at least two labels"
        )
    rare = counts[counts < 2]
    if len(rare):
        names = ", ".join(repr(c) for c in rare.index[:10])
        raise DataError(
            f"{source}: class(es) {names} in column {label!r} have a single row; "
            "add at least one more example of each or remove them"
        )


def normalise_for_leakage(texts: pd.Series) -> pd.Series:
    return texts.str.lower().str.split().str.join(" ")


def check_test(
    train: pd.DataFrame,
    test: pd.DataFrame,
    text: str,
    label: str,
    source: str,
    warnings: list[str],
) -> None:
    unseen = sorted(set(test[label]) - set(train[label]))
    if unseen:
        names = ", ".join(map(repr, unseen[:10]))
        more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
        raise DataError(
            f"{source}: test label(s) {names}{more} never occur in the training data; "
            "add training examples of them or remove those test rows"
        )
    seen = set(normalise_for_leakage(train[text]))
    dup = int(normalise_for_leakage(test[text]).isin(seen).sum())
    if dup:
        warnings.append(
            f"possible leakage: {dup} test row(s) of {len(test)} have the same text as a "
            "training row (ignoring case and spacing); scores on them are optimistic"
        )
