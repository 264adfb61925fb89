"""``check_interactions``, ``collapse_duplicates``, ``implicit_positives``: one problem each."""

from __future__ import annotations

import pandas as pd
import pytest

from crossover.errors import ConfigError, DataError
from crossover.tasks.recommendation import (
    check_interactions,
    collapse_duplicates,
    implicit_positives,
)

NAN = float("nan")


def _interactions() -> pd.DataFrame:
    """Three users and three items, each with two interactions or more, no duplicate."""
    return pd.DataFrame(
        {
            "user": ["u1", "u1", "u2", "u2", "u3", "u3"],
            "item": [1, 2, 2, 3, 3, 1],
            "stars": [5.0, 3.0, 4.0, 1.0, 2.0, 4.5],
            "ts": [1, 2, 3, 4, 5, 6],
        }
    )


def _items() -> pd.DataFrame:
    return pd.DataFrame(
        {"item": [1, 2, 3], "title": ["Alien", "Heat", "Up"], "genre": ["sci-fi", None, ""]}
    )


def _check(frame: pd.DataFrame, **options: object) -> list[str]:
    return check_interactions(frame, "user", "item", **options)  # type: ignore[arg-type]


def test_check_interactions_clean_data_gives_no_warning() -> None:
    assert _check(_interactions(), rating="stars", time="ts", items=_items()) == []


def test_check_interactions_names_missing_columns() -> None:
    with pytest.raises(DataError, match=r"interactions have no column\(s\) 'rating'.*'stars'"):
        _check(_interactions(), rating="rating")
    with pytest.raises(DataError, match=r"no column\(s\) 'customer'"):
        check_interactions(_interactions(), "customer", "item")
    with pytest.raises(DataError, match=r"items file have no column\(s\) 'movie'"):
        _check(_interactions(), items=_items(), item_id="movie")
    with pytest.raises(DataError, match=r"items file have no column\(s\) 'description'"):
        _check(_interactions(), items=_items(), text_columns=["title", "description"])


def test_check_interactions_fatal_values() -> None:
    with pytest.raises(DataError, match="has no row"):
        _check(_interactions().iloc[:0])
    with pytest.raises(DataError, match=r"1 row\(s\) have no item id in column 'item'"):
        _check(_interactions().astype({"item": float}).assign(item=[1, 2, NAN, 3, 3, 1]))
    with pytest.raises(DataError, match=r"time that is missing or not a date in column 'ts'"):
        _check(_interactions().assign(ts=["2024-01-01", "soon"] * 3), time="ts")
    with pytest.raises(DataError, match=r"1 rating\(s\) in column 'stars' are not numbers.*'x'"):
        _check(_interactions().assign(stars=[5, 3, "x", 4, 1, 2]), rating="stars")


def test_check_interactions_counts_unknown_item_ids_with_examples() -> None:
    frame = pd.concat([_interactions(), pd.DataFrame({"user": ["u1", "u2"], "item": [9, 9]})])
    warnings = _check(frame, items=_items())
    assert any(
        "2 interaction(s) name 1 item id(s) of column 'item' that the items file lacks "
        "(e.g. 9)" in w
        for w in warnings
    )


def test_check_interactions_every_item_unknown_is_fatal() -> None:
    items = _items().astype({"item": str})  # ids read as text on one side only
    with pytest.raises(DataError, match=r"no item id of column 'item'.*e\.g\. 1, 2, 3.*'1'"):
        _check(_interactions(), items=items)


def test_check_interactions_counts_duplicates_and_says_they_are_collapsed() -> None:
    frame = pd.concat([_interactions(), _interactions().iloc[[0, 0, 3]]])
    warnings = _check(frame)
    assert warnings == [
        "3 duplicate interaction(s) repeat a user and item of column(s) 'user' and 'item'; "
        "they are collapsed into one (the most recent kept)"
    ]


def test_check_interactions_counts_single_interaction_users_and_items() -> None:
    frame = pd.concat([_interactions(), pd.DataFrame({"user": ["u4"], "item": [4]})])
    warnings = _check(frame)
    assert len(warnings) == 2
    assert warnings[0].startswith("1 of 4 users (column 'user') have a single interaction")
    assert warnings[1].startswith("1 of 4 items (column 'item') have a single interaction")


def test_check_interactions_counts_items_without_text() -> None:
    items = _items().assign(title=pd.Series(["Alien", None, "  "]))
    warnings = _check(_interactions(), items=items)
    assert warnings == [
        "2 of 3 items have no text in column(s) 'title', 'genre'; "
        "content-based ranking cannot place them"
    ]
    # With named text columns, only those count.
    assert _check(_interactions(), items=_items(), text_columns=["genre"])[0].startswith(
        "2 of 3 items have no text in column(s) 'genre'"
    )
    with pytest.raises(DataError, match=r"no item of the items file has text"):
        _check(_interactions(), items=_items().assign(title=None, genre=None))


def test_check_interactions_repeated_item_ids_and_missing_ratings_warn() -> None:
    items = pd.concat([_items(), _items().iloc[[0]]])
    assert _check(_interactions(), items=items) == [
        "1 item id(s) repeat in column 'item' of the items file; the first row of each is kept"
    ]
    frame = _interactions().assign(stars=[5.0, NAN, 4.0, 1.0, NAN, 4.5])
    assert _check(frame, rating="stars") == [
        "2 row(s) have no rating in column 'stars'; they are not positives"
    ]


def test_collapse_duplicates_keeps_the_most_recent() -> None:
    frame = pd.DataFrame(
        {"user": ["a", "a", "a", "b"], "item": [1, 1, 2, 1], "ts": [9, 3, 5, 1], "r": [1, 2, 3, 4]}
    )
    kept = collapse_duplicates(frame, "user", "item", time="ts")
    assert list(kept.index) == [0, 2, 3]
    assert list(collapse_duplicates(frame, "user", "item").index) == [1, 2, 3]


def test_implicit_positives_keeps_ratings_at_or_above_the_threshold() -> None:
    frame = _interactions().assign(stars=[5.0, 3.0, 4.0, NAN, 2.0, 4.5])
    kept, message = implicit_positives(frame, "stars", 4)
    assert list(kept["stars"]) == [5.0, 4.0, 4.5]
    assert message == "kept 3 of 6 interactions with 'stars' >= 4 as positives; 3 dropped"
    with pytest.raises(DataError, match=r"no rating in column 'stars' is at or above 6"):
        implicit_positives(frame, "stars", 6)
    with pytest.raises(DataError, match=r"no column\(s\) 'rating'"):
        implicit_positives(frame, "rating", 4)
    with pytest.raises(ConfigError, match="finite"):
        implicit_positives(frame, "stars", float("nan"))
