"""``time_split`` (the past trains, the most recent rows test), repeated stratified splits,
and how many repeats a table gets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossover.errors import ConfigError, DataError
from crossover.tasks.tabular import default_repeats, repeated_stratified_splits, time_split
from tests.conftest import shared_data


def _transactions(n: int = 100, seed: int = 0) -> pd.DataFrame:
    """Rows in shuffled order, times 0 .. n-1 seconds, a positive every fifth row."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"t": np.arange(n, dtype=float), "fraud": (np.arange(n) % 5 == 0).astype(int)}
    ).iloc[rng.permutation(n)]


def test_time_split_trains_on_the_past_and_tests_on_the_most_recent_rows() -> None:
    frame = _transactions()
    train, test = time_split(frame, "t", label="fraud")
    assert len(test) == 20 and len(train) == 80
    assert frame["t"].iloc[train].max() < frame["t"].iloc[test].min()
    assert sorted(frame["t"].iloc[test]) == list(range(80, 100))
    assert set(train) | set(test) == set(range(100)) and not set(train) & set(test)


def test_time_split_sends_ties_at_the_boundary_to_the_test_side() -> None:
    times = [1, 2, 3, 4, 5, 6, 7, 7, 7, 8]  # 20 % is 2 rows; the boundary time 7 has three
    frame = pd.DataFrame({"t": times, "fraud": [0, 1] * 5})
    train, test = time_split(frame, "t", label="fraud")
    assert list(test) == [6, 7, 8, 9]
    assert list(train) == [0, 1, 2, 3, 4, 5]


def test_time_split_reads_dates_as_text_and_datetimes() -> None:
    days = pd.date_range("2023-12-25", periods=10, freq="D")
    order = [3, 9, 0, 6, 1, 8, 2, 5, 7, 4]
    fraud = [0, 1] * 5
    for times in (days[order], days[order].strftime("%Y-%m-%d %H:%M")):
        frame = pd.DataFrame({"when": times, "fraud": fraud})
        _, test = time_split(frame, "when", test_fraction=0.3, label="fraud")
        assert sorted(np.array(order)[test]) == [7, 8, 9]


def test_time_split_refuses_missing_or_unreadable_times() -> None:
    frame = pd.DataFrame({"t": [1.0, np.nan, 3.0, 4.0], "fraud": [0, 1, 0, 1]})
    with pytest.raises(DataError, match=r"1 row\(s\) .* missing in column 't' \(first at row 1"):
        time_split(frame, "t", label="fraud")
    frame = pd.DataFrame({"when": ["2024-01-01", "soon", "2024-01-03"], "fraud": [0, 1, 0]})
    with pytest.raises(DataError, match=r"missing or not a date in column 'when'.*'soon'"):
        time_split(frame, "when", label="fraud")


def test_time_split_names_a_class_absent_from_the_recent_rows() -> None:
    frame = pd.DataFrame({"t": range(50), "fraud": [1, 0] * 20 + [0] * 10})
    with pytest.raises(DataError, match=r"test rows \(the most recent\) hold no row of class"):
        time_split(frame, "t", label="fraud")
    with pytest.raises(DataError, match=r"class\(es\) 1 of column 'fraud'.*now 20%"):
        time_split(frame, "t", label="fraud")
    _, test = time_split(frame, "t", test_fraction=0.4, label="fraud")
    assert set(frame["fraud"].iloc[test]) == {0, 1}


def test_time_split_names_a_class_seen_only_in_the_recent_rows() -> None:
    frame = pd.DataFrame({"t": range(10), "kind": ["a", "b"] * 4 + ["new", "a"]})
    with pytest.raises(DataError, match=r"training rows \(the oldest\) hold no row of .*'new'"):
        time_split(frame, "t", test_fraction=0.3, label="kind")


def test_time_split_refuses_bad_options_and_a_single_time() -> None:
    frame = _transactions()
    with pytest.raises(ConfigError, match=r"--time names column 'time'.*'t', 'fraud'"):
        time_split(frame, "time", label="fraud")
    with pytest.raises(DataError, match=r"no label column 'Class'"):
        time_split(frame, "t", label="Class")
    with pytest.raises(ConfigError, match=r"strictly between 0 and 1, got 1.0"):
        time_split(frame, "t", 1.0, label="fraud")
    with pytest.raises(DataError, match=r"no row before the test period"):
        time_split(frame.assign(t=5.0), "t", label="fraud")


def test_repeated_stratified_splits_keep_class_shares_and_differ() -> None:
    y = np.array([1] * 30 + [0] * 270)
    splits = list(repeated_stratified_splits(y, n_repeats=5, test_fraction=0.2, seed=3))
    assert len(splits) == 5
    for train, test in splits:
        assert len(test) == 60 and len(train) == 240
        assert not set(train) & set(test) and len(set(train) | set(test)) == 300
        assert y[test].sum() == 6 and y[train].sum() == 24
    assert len({tuple(test) for _, test in splits}) == 5
    again = list(repeated_stratified_splits(y, n_repeats=5, test_fraction=0.2, seed=3))
    assert all((a[1] == b[1]).all() for a, b in zip(splits, again, strict=True))
    other = next(repeated_stratified_splits(y, seed=4))
    assert not (other[1] == splits[0][1]).all()


def test_repeated_stratified_splits_hold_every_class_in_a_tiny_test_set() -> None:
    y = np.array(["a", "a", "a", "b", "b", "c", "c", "a", "b", "c"])
    for train, test in repeated_stratified_splits(y, n_repeats=3, test_fraction=0.2):
        assert set(y[test]) == {"a", "b", "c"} and set(y[train]) == {"a", "b", "c"}


def test_repeated_stratified_splits_refuse_bad_input() -> None:
    with pytest.raises(DataError, match=r"class\(es\) 'lonely' have a single row"):
        next(repeated_stratified_splits(np.array(["a", "a", "b", "b", "lonely"])))
    with pytest.raises(DataError, match="fewer than two classes"):
        next(repeated_stratified_splits(np.zeros(10)))
    with pytest.raises(ConfigError, match="1 or more, got 0"):
        next(repeated_stratified_splits(np.array([0, 1] * 5), n_repeats=0))


def test_default_repeats_repeat_small_tables_only() -> None:
    assert default_repeats(5_000) == 5
    assert default_repeats(19_999) == 5
    assert default_repeats(20_000) == 1
    assert default_repeats(284_807) == 1
    # Many rows but few positives: one split's test set would hold under 100 of them.
    assert default_repeats(284_807, n_minority=492) == 5
    assert default_repeats(284_807, n_minority=500) == 1


def test_time_split_on_the_credit_card_sample() -> None:
    frame = pd.read_csv(shared_data("creditcard_fraud", "creditcard_sample.csv"))
    train, test = time_split(frame, "Time", label="Class")
    assert frame["Time"].iloc[train].max() < frame["Time"].iloc[test].min()
    assert len(test) == pytest.approx(0.2 * len(frame), abs=5)
    assert frame["Class"].iloc[test].sum() > 10
