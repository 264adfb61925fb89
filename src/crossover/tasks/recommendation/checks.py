"""Checks of the interactions (and items) of ``recommendation``: fatal problems raise, others warn.

Fatal, a ``DataError``: a named column is missing (interactions: user, item, rating, time; items:
the item id and text columns); there is no interaction; a user or item id is missing; a time is
missing or unreadable; a rating is not a number; every item id of the interactions is absent from
the items file (the wrong id column, or ids read as text on one side and numbers on the other); no
item has any text.

Warnings: some item ids of the interactions are absent from the items file (count and examples;
those items have no text to embed); an item id repeats in the items file (the first row is kept);
duplicate interactions, the same user and item more than once (they are collapsed into one, see
``collapse_duplicates``); users with a single interaction (none can be held out for them); items
with a single interaction (collaborative filtering learns little about them); items with no text
in any text column; rows without a rating.

``implicit_positives`` turns ratings into implicit feedback: rows at or above a threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from crossover.errors import ConfigError, DataError
from crossover.tasks.tabular.columns import sortable_times

__all__ = [
    "check_interactions",
    "collapse_duplicates",
    "implicit_positives",
    "item_text_columns",
]

_N_EXAMPLES = 5


def check_interactions(
    interactions: pd.DataFrame,
    user: str,
    item: str,
    *,
    rating: str | None = None,
    time: str | None = None,
    items: pd.DataFrame | None = None,
    item_id: str | None = None,
    text_columns: Sequence[str] = (),
) -> list[str]:
    """Check the data of a recommendation study; return the warnings, raise when fatal.

    Parameters
    ----------
    interactions : pandas.DataFrame
        One row per interaction.
    user, item : str
        The user and item id columns of ``interactions``.
    rating, time : str or None, default=None
        The rating and time columns, when the study uses them.
    items : pandas.DataFrame or None, default=None
        The items file: one row per item, with an id and text.
    item_id : str or None, default=None
        The item id column of ``items``; by default the same name as ``item``.
    text_columns : sequence of str, default=()
        The text columns of ``items``; by default every column of text other than the id.

    Returns
    -------
    list of str
        One line per warning, each with its count and what happens.
    """
    wanted = [user, item] + [c for c in (rating, time) if c is not None]
    _require(interactions, wanted, "the interactions")
    if interactions.empty:
        raise DataError("the interactions file has no row; a recommender needs interactions")
    for column, what in ((user, "user"), (item, "item")):
        _no_missing(interactions[column], column, f"no {what} id")
    if time is not None:
        sortable_times(interactions[time], time)
    warnings: list[str] = []
    if rating is not None:
        warnings += _check_ratings(interactions[rating], rating)
    if items is not None:
        warnings += _check_items(interactions, item, items, item_id or item, text_columns)
    n_duplicates = int(interactions.duplicated([user, item]).sum())
    if n_duplicates:
        warnings.append(
            f"{n_duplicates:,} duplicate interaction(s) repeat a user and item of column(s) "
            f"{user!r} and {item!r}; they are collapsed into one (the most recent kept)"
        )
    n_users, n_single = _single_counts(interactions[user])
    if n_single:
        warnings.append(
            f"{n_single:,} of {n_users:,} users (column {user!r}) have a single interaction; "
            "none can be held out for them, so they are kept for training only"
        )
    n_items, n_single = _single_counts(interactions[item])
    if n_single:
        warnings.append(
            f"{n_single:,} of {n_items:,} items (column {item!r}) have a single interaction; "
            "collaborative filtering learns little about them"
        )
    return warnings


def collapse_duplicates(
    interactions: pd.DataFrame, user: str, item: str, *, time: str | None = None
) -> pd.DataFrame:
    """One row per user and item: the most recent by ``time``, else the last in the file.

    The kept rows stay in their original order, with their original index.
    """
    if time is None:
        keep = ~interactions.duplicated([user, item], keep="last")
        return interactions[keep.to_numpy()]
    order = np.argsort(sortable_times(interactions[time], time), kind="stable")
    ordered = interactions.iloc[order]
    kept = np.sort(order[~ordered.duplicated([user, item], keep="last").to_numpy()])
    return interactions.iloc[kept]


def implicit_positives(
    frame: pd.DataFrame, rating: str, threshold: float
) -> tuple[pd.DataFrame, str]:
    """The rows whose rating is at or above ``threshold``, and a line saying how many were dropped.

    A missing rating is not a positive. Raises a ``DataError`` when the column is missing or not
    numeric, or when no row reaches the threshold.
    """
    if not math.isfinite(threshold):
        raise ConfigError(f"the rating threshold must be a finite number, got {threshold}")
    _require(frame, [rating], "the interactions")
    values = _numeric_ratings(frame[rating], rating)
    keep = (values >= threshold).to_numpy(dtype=bool, na_value=False)
    n_kept = int(keep.sum())
    if n_kept == 0:
        raise DataError(
            f"no rating in column {rating!r} is at or above {threshold:g} (the highest is "
            f"{values.max():g}); lower the rating threshold"
        )
    n_dropped = len(frame) - n_kept
    message = (
        f"kept {n_kept:,} of {len(frame):,} interactions with {rating!r} >= {threshold:g} as "
        f"positives; {n_dropped:,} dropped"
    )
    return frame[keep], message


def _require(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(
            f"{where} have no column(s) {', '.join(map(repr, absent))}; the columns are: "
            f"{', '.join(map(repr, frame.columns))}"
        )


def _no_missing(values: pd.Series, column: str, what: str) -> None:
    missing = np.flatnonzero(values.isna().to_numpy())
    if missing.size:
        raise DataError(
            f"{missing.size:,} row(s) have {what} in column {column!r} (first at row "
            f"{missing[0]}); fill or remove them"
        )


def _numeric_ratings(values: pd.Series, rating: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero((numbers.isna() & values.notna()).to_numpy())
    if bad.size:
        first = values.iloc[[bad[0]]].tolist()[0]
        raise DataError(
            f"{bad.size:,} rating(s) in column {rating!r} are not numbers (first at row "
            f"{bad[0]}: {first!r}); fix them or leave out --rating"
        )
    return numbers


def _check_ratings(values: pd.Series, rating: str) -> list[str]:
    n_missing = int(_numeric_ratings(values, rating).isna().sum())
    if not n_missing:
        return []
    return [f"{n_missing:,} row(s) have no rating in column {rating!r}; they are not positives"]


def _check_items(
    interactions: pd.DataFrame,
    item: str,
    items: pd.DataFrame,
    item_id: str,
    text_columns: Sequence[str],
) -> list[str]:
    _require(items, [item_id, *text_columns], "the items file")
    _no_missing(items[item_id], item_id, "no item id")
    texts = item_text_columns(items, item_id, text_columns)
    if not texts:
        raise DataError(
            f"the items file has no text column besides the id {item_id!r}; name its text "
            "columns (title, description, category) or leave out the items file"
        )
    warnings: list[str] = []
    n_repeated = int(items[item_id].duplicated().sum())
    if n_repeated:
        warnings.append(
            f"{n_repeated:,} item id(s) repeat in column {item_id!r} of the items file; "
            "the first row of each is kept"
        )
    known = set(items[item_id].tolist())
    ids = interactions[item]
    unknown = ~ids.isin(known).to_numpy()
    if unknown.all():
        raise DataError(
            f"no item id of column {item!r} in the interactions (e.g. "
            f"{_examples(ids)}) is in column {item_id!r} of the items file (e.g. "
            f"{_examples(items[item_id])}); check the id columns and that both are "
            "read as the same type"
        )
    if unknown.any():
        missing_ids = ids[unknown]
        warnings.append(
            f"{int(unknown.sum()):,} interaction(s) name {missing_ids.nunique():,} item id(s) of "
            f"column {item!r} that the items file lacks (e.g. {_examples(missing_ids)}); "
            "those items have no text, so content-based ranking cannot place them"
        )
    warnings += _empty_texts(items.drop_duplicates(item_id), texts)
    return warnings


def _empty_texts(items: pd.DataFrame, texts: list[str]) -> list[str]:
    empty = np.ones(len(items), dtype=bool)
    for column in texts:
        text = items[column].astype("string").str.strip()
        empty &= (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    n_empty = int(empty.sum())
    names = ", ".join(map(repr, texts))
    if n_empty == len(items):
        raise DataError(
            f"no item of the items file has text in column(s) {names}; name the text columns "
            "or leave out the items file"
        )
    if not n_empty:
        return []
    return [
        f"{n_empty:,} of {len(items):,} items have no text in column(s) {names}; "
        "content-based ranking cannot place them"
    ]


def _single_counts(values: pd.Series) -> tuple[int, int]:
    counts = values.value_counts()
    return len(counts), int((counts == 1).sum())


def item_text_columns(
    items: pd.DataFrame, item_id: str, columns: Sequence[str] | None = None
) -> list[str]:
    """The items' text columns: ``columns`` when given, else every text column but the id."""
    if columns:
        return list(columns)
    return [c for c in items.columns if c != item_id and _is_text(items[c])]


def _is_text(values: pd.Series) -> bool:
    return bool(pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values))


def _examples(values: pd.Series) -> str:
    return ", ".join(repr(v) for v in values.drop_duplicates().head(_N_EXAMPLES).tolist())
