"""Refusing cells that hold lists or records (Parquet's nested types, JSON arrays and objects).

crossover reads one value per cell. A list of strings turned into text would read as numpy's
``['a' 'b']`` and a record as ``{'a': 1}``: numbers measured on something the user never meant.
So a column a task uses that holds such cells is a ``DataError`` naming the column, its type
(the Arrow type for Parquet) and how to flatten it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

import numpy as np
import pandas as pd

from crossover.data._read import ARROW_TYPES
from crossover.errors import DataError

__all__ = ["check_flat"]


def _what(value: object) -> str | None:
    if isinstance(value, Mapping):
        return "records"
    if isinstance(value, list | tuple | np.ndarray | Set):
        return "lists"
    return None


def _nested(column: pd.Series) -> str | None:
    if not pd.api.types.is_object_dtype(column):
        return None
    for value in column:
        what = _what(value)
        if what is not None:
            return what
    return None


_FLATTEN = {
    "lists": "join each list into one value first (the words of a text joined with spaces)",
    "records": "spread the records' fields over columns of their own first",
}
_JSON = {"lists": "JSON arrays", "records": "JSON objects"}


def check_flat(frame: pd.DataFrame, columns: Iterable[str], source: str, hint: str = "") -> None:
    """Raise a ``DataError`` when one of ``columns`` of ``frame`` holds lists or records.

    ``hint`` ends the message with the task's own way out; ``{column}`` in it is replaced by
    the column's name (e.g. ``", or leave it out with --drop {column}"``).
    """
    arrow: dict[str, str] = frame.attrs.get(ARROW_TYPES, {})
    for name in columns:
        if name not in frame.columns:
            continue
        what = _nested(frame[name])
        if what is None:
            continue
        if name in arrow:
            kind = f"Arrow type {arrow[name]}"
        elif source == "<DataFrame>":
            kind = {"lists": "Python lists or arrays", "records": "Python dicts"}[what]
        else:
            kind = _JSON[what]
        raise DataError(
            f"{source}: column {name!r} holds {what} ({kind}), not one value per cell, and "
            f"crossover will not guess what they mean; {_FLATTEN[what]}"
            + hint.replace("{column}", name)
        )
