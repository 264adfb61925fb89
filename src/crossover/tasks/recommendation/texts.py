"""The items' texts of ``recommendation``: one text per item id, from its text columns.

The task checks an items file with it, and the content-reading recommenders embed its texts.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from crossover.errors import DataError
from crossover.tasks.recommendation.checks import item_text_columns

__all__ = ["item_texts"]


def item_texts(items: pd.DataFrame, item: str, columns: Sequence[str] | None) -> pd.Series:
    """Item id -> its text (empty when none); the first row of a repeated id wins."""
    columns = item_text_columns(items, item) if columns is None else list(columns)
    absent = [c for c in columns if c not in items.columns]
    if absent or not columns:
        raise DataError(
            f"the items frame has no text column(s) {', '.join(map(repr, absent))}; the "
            f"columns are: {', '.join(map(repr, items.columns))}"
        )
    unique = items.drop_duplicates(item)
    parts = [
        unique[c].astype("string").str.replace("|", ", ", regex=False).str.strip().fillna("")
        for c in columns
    ]
    joined = [". ".join(p for p in row if p) for row in zip(*parts, strict=True)]
    return pd.Series(joined, index=pd.Index(unique[item]), dtype=object)
