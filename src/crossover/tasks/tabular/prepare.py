"""Loading a table for ``tabular-classification``: column types, checks, the label as text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from crossover.data import check_flat, one_spelling
from crossover.errors import DataError

__all__ = ["LABEL_NAMES", "guess_label", "labels_as_text", "prepare_table"]

#: Column names taken as the label when ``--label`` is not given (case-insensitive).
LABEL_NAMES = ("label", "target", "class", "is_fraud", "fraud", "y")


def guess_label(frame: pd.DataFrame, source: str) -> str:
    """The label column when its name says so; otherwise a ``DataError`` asking for --label."""
    found = [c for c in frame.columns if str(c).lower() in LABEL_NAMES]
    if len(found) == 1:
        return str(found[0])
    columns = ", ".join(map(repr, frame.columns[:30]))
    raise DataError(f"{source}: which column is the label? pass --label COLUMN, one of: {columns}")


def labels_as_text(values: pd.Series) -> pd.Series:
    """Labels as strings; whole-valued floats (integers pandas widened for NaN) lose ``.0``."""
    kept = values.dropna()
    if pd.api.types.is_float_dtype(kept) and (kept == kept.round()).all():
        return kept.astype("int64").astype(str)
    if pd.api.types.is_bool_dtype(kept) or (
        len(kept) and all(isinstance(v, bool | np.bool_) for v in kept)
    ):
        return kept.map(lambda v: "1" if v else "0")
    spelled, merged = one_spelling(kept, "labels", "the label column")
    # 1, "1" and 1.0 (a JSON file) are one class; other labels are kept as written.
    return spelled if merged else kept.astype(str).str.strip()


def prepare_table(
    frame: pd.DataFrame,
    source: str,
    *,
    label: str | None,
    categorical: Sequence[str] = (),
    text_columns: Sequence[str] = (),
    drop: Sequence[str] = (),
    time: str | None = None,
    positive: str | None = None,
    amount: str | None = None,
    warnings: list[str],
) -> tuple[pd.DataFrame, dict[str, str], str | None, str]:
    """Type the columns, run the checks, and keep the rows with a label.

    Returns the table (feature columns, then the time column when given, then the label as
    text), the kind of each feature column, the positive class as text (None when the label
    has more than two classes) and the label column's name. Check warnings are appended to
    ``warnings``; fatal problems raise a ``DataError`` that names the file and the column.
    """
    from crossover.tasks.tabular import (
        check_table,
        infer_column_types,
        resolve_positive,
        unusable_columns,
    )

    used = [c for c in frame.columns if c not in set(drop)]
    check_flat(frame, used, source, ", or leave it out with --drop {column}")
    label = label or guess_label(frame, source)
    if label not in frame.columns:
        columns = ", ".join(map(repr, frame.columns[:30]))
        raise DataError(f"{source}: no column {label!r} (--label); the columns are: {columns}")
    if amount is not None and amount not in frame.columns:
        raise DataError(f"{source}: no column {amount!r} (--amount); name the money column")
    if amount is not None and not pd.api.types.is_numeric_dtype(frame[amount]):
        raise DataError(f"{source}: the --amount column {amount!r} must hold numbers")
    # The label as text before any check, so that --positive names a class as it is reported
    # ("1", not 1.0 for an integer label pandas widened for a missing value, nor True).
    frame = frame.copy()
    frame[label] = labels_as_text(frame[label]).reindex(frame.index)
    try:
        types = infer_column_types(
            frame, label, categorical=categorical, text_columns=text_columns, drop=drop, time=time
        )
        for w in check_table(frame, label, types, positive=positive):
            warnings.append(f"{source}: {w}")
    except DataError as exc:
        raise DataError(f"{source}: {exc}") from None
    rows = frame[frame[label].notna()]
    types = types.without(unusable_columns(rows, types))
    features = types.features
    if amount is not None and amount not in features:
        raise DataError(
            f"{source}: the --amount column {amount!r} is not a feature column (dropped or "
            "the time column); it must be a usable numeric column"
        )
    labels = labels_as_text(rows[label])
    chosen = resolve_positive(labels, positive)
    kinds = {c: str(types.kinds[c]) for c in features}
    if time is not None and _holds_dates(rows, time, label):
        # A time column of dates is a feature too: its hour, weekday and month (the models
        # leave out its absolute time, which the most recent test rows lie beyond).
        kinds[time] = "datetime"
        features = [*features, time]
    keep = [*features, *([time] if time and time not in features else [])]
    out = rows[keep].reset_index(drop=True)
    out[label] = labels.to_numpy()
    return out, kinds, None if chosen is None else str(chosen), label


def _holds_dates(frame: pd.DataFrame, time: str, label: str) -> bool:
    """Whether the time column holds dates (not a counter of seconds or a row number)."""
    from crossover.tasks.tabular.columns import infer_column_types

    if time not in frame.columns:
        return False
    kinds = infer_column_types(frame[[time, label]], label).kinds
    return kinds.get(time) == "datetime"
