"""``holdout_last``: no future leakage, ``n_test`` honoured, short histories kept for training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossover.errors import ConfigError, DataError
from crossover.tasks.recommendation import holdout_last


def _random_log(n_users: int = 60, seed: int = 0) -> pd.DataFrame:
    """Users with 1 to 12 interactions, times drawn with many ties, rows shuffled."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 13, n_users)
    users = np.repeat([f"u{i}" for i in range(n_users)], sizes)
    frame = pd.DataFrame(
        {
            "user": users,
            "item": rng.integers(0, 200, len(users)),
            "ts": rng.integers(0, 30, len(users)),
        }
    )
    return frame.sample(frac=1.0, random_state=1)


def _check_sides(frame: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame) -> None:
    assert not set(train.index) & set(test.index)
    assert sorted([*train.index, *test.index]) == sorted(frame.index)


def test_holdout_last_holds_out_the_most_recent_interactions() -> None:
    frame = pd.DataFrame(
        {
            "user": ["a", "a", "a", "a", "a", "b", "b", "c"],
            "item": [1, 2, 3, 4, 5, 1, 2, 3],
            "ts": [50, 10, 40, 20, 30, 5, 6, 7],
        }
    )
    train, test, info = holdout_last(frame, "user", "item", time="ts", n_test=2)
    assert sorted(test["item"]) == [1, 3]  # a's two latest: times 50 and 40
    assert set(test["user"]) == {"a"}
    assert list(train.index) == [1, 3, 4, 5, 6, 7]  # original order kept
    assert (info.n_users, info.n_test_users, info.n_train_only_users) == (3, 1, 2)
    assert (info.n_train_rows, info.n_test_rows) == (6, 2)
    assert info.by_time
    assert "2 user(s) with fewer than 3 interactions are kept for training only" in (info.message())


def test_holdout_last_min_train_decides_who_is_split() -> None:
    frame = pd.DataFrame({"user": ["a"] * 3 + ["b"] * 2, "item": range(5), "ts": range(5)})
    _, test, info = holdout_last(frame, "user", "item", time="ts", n_test=1, min_train=2)
    assert list(test["user"]) == ["a"] and info.n_train_only_users == 1
    _, test, info = holdout_last(frame, "user", "item", time="ts", n_test=1, min_train=1)
    assert sorted(test["user"]) == ["a", "b"] and info.n_train_only_users == 0
    assert "kept for training only" not in info.message()


@pytest.mark.parametrize("n_test", [1, 3])
def test_holdout_last_no_future_leakage_and_n_test_honoured(n_test: int) -> None:
    frame = _random_log()
    train, test, info = holdout_last(frame, "user", "item", time="ts", n_test=n_test)
    _check_sides(frame, train, test)
    sizes = frame.groupby("user").size()
    split_users = set(sizes.index[sizes >= n_test + 1])
    assert set(test["user"]) == split_users
    assert (test.groupby("user").size() == n_test).all()
    assert info.n_train_only_users == len(sizes) - len(split_users) > 0
    last_train = train.groupby("user")["ts"].max()
    first_test = test.groupby("user")["ts"].min()
    assert (first_test >= last_train.reindex(first_test.index)).all()


def test_holdout_last_breaks_time_ties_by_row_order() -> None:
    frame = pd.DataFrame({"user": ["a"] * 3, "item": [7, 8, 9], "ts": [2, 5, 5]})
    _, test, _ = holdout_last(frame, "user", "item", time="ts")
    assert list(test["item"]) == [9]


def test_holdout_last_reads_dates_written_as_text() -> None:
    frame = pd.DataFrame(
        {"user": ["a"] * 3, "item": [1, 2, 3], "when": ["2024-03-01", "2024-12-01", "2024-06-01"]}
    )
    _, test, _ = holdout_last(frame, "user", "item", time="when")
    assert list(test["item"]) == [2]


def test_holdout_last_random_split_is_deterministic_for_a_seed() -> None:
    frame = _random_log().drop(columns="ts")
    train, test, info = holdout_last(frame, "user", "item", n_test=2, seed=3)
    _check_sides(frame, train, test)
    assert not info.by_time and "randomly chosen" in info.message()
    assert (test.groupby("user").size() == 2).all()
    again = holdout_last(frame, "user", "item", n_test=2, seed=3)[1]
    pd.testing.assert_frame_equal(test, again)
    other = holdout_last(frame, "user", "item", n_test=2, seed=4)[1]
    assert set(other.index) != set(test.index)


def test_holdout_last_names_a_missing_column_or_time() -> None:
    frame = pd.DataFrame({"user": ["a", "a"], "item": [1, 2], "ts": [1.0, None]})
    with pytest.raises(DataError, match=r"no column\(s\) 'stamp'.*'user', 'item', 'ts'"):
        holdout_last(frame, "user", "item", time="stamp")
    with pytest.raises(DataError, match=r"1 row\(s\) have a time that is missing in column 'ts'"):
        holdout_last(frame, "user", "item", time="ts")
    with pytest.raises(DataError, match=r"1 row\(s\) have no user id in column 'user'"):
        holdout_last(frame.assign(user=pd.Series(["a", None])), "user", "item")


def test_holdout_last_refuses_bad_sizes_and_data_with_no_splittable_user() -> None:
    frame = pd.DataFrame({"user": ["a", "a", "b"], "item": [1, 2, 3]})
    with pytest.raises(ConfigError, match="n_test=0"):
        holdout_last(frame, "user", "item", n_test=0)
    with pytest.raises(DataError, match=r"no user in column 'user' has 3 or more.*most has 2"):
        holdout_last(frame, "user", "item", n_test=2)
