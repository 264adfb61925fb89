"""Inference of the text and label columns when the user does not name them."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from crossover.errors import DataError

__all__ = ["infer_columns"]

# A free-text column: mostly distinct values, several words on average.
_MIN_MEAN_CHARS = 12
_MIN_UNIQUE_RATIO = 0.3
# A label column: at most this many classes, and far fewer classes than rows.
_MAX_CLASSES = 500


def _is_free_text(col: pd.Series) -> bool:
    values = col.dropna()
    if values.empty or not all(isinstance(v, str) for v in values.head(200)):
        return False
    values = values.astype(str)
    return bool(
        values.str.len().mean() >= _MIN_MEAN_CHARS
        and values.nunique() / len(values) >= _MIN_UNIQUE_RATIO
    )


def _is_label_like(col: pd.Series) -> bool:
    values = col.dropna()
    n_classes = values.astype(str).nunique()
    return 2 <= n_classes <= min(_MAX_CLASSES, max(2, len(values) // 3))


def _check_exists(frame: pd.DataFrame, column: str, flag: str, source: str) -> None:
    if column not in frame.columns:
        raise DataError(
            f"{source}: no column {column!r} (given by {flag}); "
            f"the columns are: {', '.join(map(repr, frame.columns))}"
        )


def _only_candidate(
    frame: pd.DataFrame,
    role: str,
    what: str,
    other: str | None,
    fits: Callable[[pd.Series], bool],
    source: str,
) -> str:
    """The one column (other than ``other``) that ``fits``; a DataError when not exactly one."""
    candidates = [c for c in frame.columns if c != other and fits(frame[c])]
    if not candidates and role == "label":
        _refuse_one_class(frame, other, source)
    if len(candidates) != 1:
        found = ", ".join(map(repr, candidates)) or "none"
        raise DataError(
            f"{source}: cannot tell which column holds the {role} ({what} columns: {found}); "
            f"pass --{role} COLUMN, one of: {', '.join(map(repr, frame.columns))}"
        )
    return str(candidates[0])


def _refuse_one_class(frame: pd.DataFrame, text: str | None, source: str) -> None:
    """No label-like column because one holds a single value in every row: say so."""
    single = {}
    for column in frame.columns:
        values = frame[column].dropna().astype(str).str.strip()
        values = values[values != ""]
        if column != text and values.nunique() == 1:
            single[str(column)] = str(values.iloc[0])
    if not single:
        return
    column, value = next(iter(single.items()))
    raise DataError(
        f"{source}: column {column!r} holds one value ({value!r}) in every row: a single "
        "class, and a classifier needs at least two; add rows of other classes, or pass "
        "--label COLUMN if another column holds the labels"
    )


def infer_columns(
    frame: pd.DataFrame, text: str | None, label: str | None, source: str
) -> tuple[str, str, dict[str, str]]:
    """Return ``(text_column, label_column, inferred)`` where ``inferred`` names what was guessed.

    A given column must exist; a missing one is inferred only when exactly one column fits.
    """
    if text is not None:
        _check_exists(frame, text, "--text", source)
    if label is not None:
        _check_exists(frame, label, "--label", source)
    inferred: dict[str, str] = {}
    if (text is None or label is None) and len(frame) < 2:
        raise DataError(
            f"{source} holds a single row; a classifier needs at least two classes with two "
            "rows each: add labelled rows"
        )
    if text is None:
        text = _only_candidate(frame, "text", "free-text", label, _is_free_text, source)
        inferred["text"] = text
    if label is None:
        label = _only_candidate(frame, "label", "low-cardinality", text, _is_label_like, source)
        inferred["label"] = label
    if text == label:
        raise DataError(f"{source}: --text and --label both name column {text!r}; pass two columns")
    return text, label, inferred
