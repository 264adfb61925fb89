"""The split of ``recommendation``: per user, the most recent interactions are held out.

A recommender is asked "what will this user want next?", so each user's last ``n_test``
interactions (by the time column) are the test rows and everything before them trains. Without a
time column, each user's test rows are drawn at random (with ``seed``). A user needs
``n_test + min_train`` interactions to be split; one with fewer is kept for training only, so
their history still helps the other users' models, and ``HoldoutInfo`` says how many there were.

No future leakage within a user: every test time is at or after every training time. Rows that
share a timestamp are ordered by their position in the file (a later row is more recent). Other
users' training rows may be later than a user's test rows; that is the usual leave-last-out
protocol, not a global time split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossover.errors import ConfigError, DataError
from crossover.tasks.tabular.columns import sortable_times

__all__ = ["HoldoutInfo", "holdout_last"]


@dataclass(frozen=True)
class HoldoutInfo:
    """What ``holdout_last`` did: counts of users and rows on each side.

    ``n_train_only_users`` users had fewer than ``n_test + min_train`` interactions; all their
    rows are in the training frame and none in the test frame.
    """

    n_users: int
    n_test_users: int
    n_train_only_users: int
    n_train_rows: int
    n_test_rows: int
    n_test: int
    min_train: int
    by_time: bool

    def message(self) -> str:
        """One line for the user: how the split was made and who was kept for training only."""
        how = "most recent" if self.by_time else "randomly chosen (no time column)"
        line = (
            f"held out the {how} {self.n_test} interaction(s) of {self.n_test_users:,} of "
            f"{self.n_users:,} users ({self.n_test_rows:,} test rows, {self.n_train_rows:,} "
            "training rows)"
        )
        if self.n_train_only_users:
            line += (
                f"; {self.n_train_only_users:,} user(s) with fewer than "
                f"{self.n_test + self.min_train} interactions are kept for training only"
            )
        return line


def holdout_last(
    interactions: pd.DataFrame,
    user: str,
    item: str,
    *,
    time: str | None = None,
    n_test: int = 1,
    min_train: int = 1,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, HoldoutInfo]:
    """Split ``interactions`` into training and test rows, per user (module docstring).

    Parameters
    ----------
    interactions : pandas.DataFrame
        One row per interaction.
    user, item : str
        The user and item id columns.
    time : str or None, default=None
        The time column: numbers (seconds, a counter), datetimes, or dates as text. Without it,
        each user's test rows are drawn at random.
    n_test : int, default=1
        How many interactions of each user are held out.
    min_train : int, default=1
        How many interactions each split user keeps for training, at least.
    seed : int, default=0
        Seed of the random draw without a time column; the same frame and seed give the same
        split. Unused with a time column (the split is then fully determined by the data).

    Returns
    -------
    train, test : pandas.DataFrame
        The rows of ``interactions`` (original index and row order kept) on each side.
    info : HoldoutInfo
        The counts; ``info.message()`` is the line to show.

    Raises
    ------
    DataError
        When a column is missing, a user id or time is missing, or no user has enough
        interactions to be split.
    ConfigError
        When ``n_test`` or ``min_train`` is below 1.
    """
    if n_test < 1 or min_train < 1:
        raise ConfigError(
            f"n_test and min_train must be 1 or more, got n_test={n_test}, min_train={min_train}"
        )
    _require_columns(interactions, [user, item] + ([time] if time is not None else []))
    users = interactions[user]
    missing = np.flatnonzero(users.isna().to_numpy())
    if missing.size:
        raise DataError(
            f"{missing.size} row(s) have no user id in column {user!r} (first at row "
            f"{missing[0]}); fill or remove them"
        )
    positions = np.arange(len(interactions))
    if time is not None:
        order_key = sortable_times(interactions[time], time)
    else:
        order_key = np.random.default_rng(seed).random(len(interactions))
    # Sort by user, then by the key, then by row position (ties in time: a later row is newer).
    user_codes = pd.factorize(users, sort=False)[0]
    order = np.lexsort((positions, order_key, user_codes))
    sorted_codes = user_codes[order]
    sizes = np.bincount(user_codes)
    from_end = pd.Series(sorted_codes).groupby(sorted_codes).cumcount(ascending=False).to_numpy()
    splittable = sizes[sorted_codes] >= n_test + min_train
    is_test = np.zeros(len(interactions), dtype=bool)
    is_test[order] = splittable & (from_end < n_test)
    n_test_users = int(np.sum(sizes >= n_test + min_train))
    if n_test_users == 0:
        raise DataError(
            f"no user in column {user!r} has {n_test + min_train} or more interactions, so "
            f"none can be evaluated (the most has {int(sizes.max(initial=0))}); add history "
            "or hold out fewer interactions per user"
        )
    info = HoldoutInfo(
        n_users=len(sizes),
        n_test_users=n_test_users,
        n_train_only_users=len(sizes) - n_test_users,
        n_train_rows=int(np.sum(~is_test)),
        n_test_rows=int(np.sum(is_test)),
        n_test=n_test,
        min_train=min_train,
        by_time=time is not None,
    )
    return interactions.iloc[~is_test], interactions.iloc[is_test], info


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(
            f"the interactions have no column(s) {', '.join(map(repr, absent))}; the columns "
            f"are: {', '.join(map(repr, frame.columns))}"
        )
