from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossover.errors import ConfigError
from crossover.evaluation.budgets import FULL, parse_budgets, plan_budgets, sample_budget


@pytest.fixture
def labels() -> pd.Series:
    rng = np.random.default_rng(0)
    return pd.Series(rng.choice(["a", "b", "c"], size=300, p=[0.6, 0.3, 0.1]))


def test_parse_budgets_default_sorted_and_full_last() -> None:
    assert parse_budgets(None) == [2, 4, 8, 16, 32, 64, FULL]
    assert parse_budgets("full, 8,2,8") == [2, 8, FULL]
    assert parse_budgets([16, "FULL"]) == [16, FULL]


@pytest.mark.parametrize("bad", ["two", "0", "", "2,-1"])
def test_parse_budgets_rejects_bad_values(bad: str) -> None:
    with pytest.raises(ConfigError, match="--budgets"):
        parse_budgets(bad)


def test_plan_budgets_skips_budgets_the_data_cannot_fill(labels: pd.Series) -> None:
    largest = int(labels.value_counts().max())
    kept, skipped = plan_budgets([2, 64, 500, FULL], labels)
    assert kept == [2, 64, FULL]
    assert skipped == [500]
    assert 500 >= largest > 64


def test_sample_budget_is_stratified(labels: pd.Series) -> None:
    rows = sample_budget(labels, 8, seed=0)
    counts = labels.iloc[rows].value_counts()
    assert counts.to_dict() == {"a": 8, "b": 8, "c": 8}
    small = labels[labels == "c"].size
    everything = labels.iloc[sample_budget(labels, 50, seed=0)].value_counts()
    assert everything["c"] == small  # a class smaller than the budget gives all its rows
    assert everything["a"] == 50


def test_sample_budget_nested_across_budgets_for_a_seed(labels: pd.Series) -> None:
    previous: set[int] = set()
    for budget in (2, 4, 8, 16, 32):
        rows = set(sample_budget(labels, budget, seed=3).tolist())
        assert previous <= rows
        previous = rows


def test_sample_budget_same_rows_for_same_seed_other_rows_for_other_seed(
    labels: pd.Series,
) -> None:
    np.testing.assert_array_equal(sample_budget(labels, 4, 1), sample_budget(labels, 4, 1))
    assert not np.array_equal(sample_budget(labels, 4, 1), sample_budget(labels, 4, 2))
    np.testing.assert_array_equal(sample_budget(labels, FULL, 5), np.arange(len(labels)))
