"""Ranking metrics against hand-computed rankings, coverage, and the cold-start slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossover.errors import ConfigError
from crossover.tasks.recommendation import (
    catalogue_coverage,
    cold_start_items,
    cold_start_relevant,
    map_at_k,
    ndcg_at_k,
    recall_at_k,
    relevant_items,
)

# a: one of two relevant items, at rank 2.  b: a list shorter than k, its one relevant item first.
# c: more relevant items than k, one at rank 3.  d: no relevant item (left out).
# e: relevant items but no list (scores 0).  z: a list but not in `relevant` (ignored).
RECOMMENDED = {"a": [1, 2, 3, 4], "b": [5, 6], "c": [7, 8, 9], "z": [1, 2, 3]}
RELEVANT = {"a": {2, 4}, "b": {5}, "c": {9, 10, 11, 12}, "d": set(), "e": {1}}
USERS = ("a", "b", "c", "e")
L3 = 1 / np.log2(3)  # the discount of rank 2; rank 3's is 1 / log2(4) = 0.5


def test_recall_at_k_hand_computed() -> None:
    scores = recall_at_k(RECOMMENDED, RELEVANT, k=3)
    assert scores.users == USERS
    np.testing.assert_allclose(scores.per_user, [1 / 2, 1.0, 1 / 4, 0.0])
    assert scores.mean == pytest.approx((1 / 2 + 1 + 1 / 4) / 4)


def test_ndcg_at_k_hand_computed_with_ideal_over_min_k_n_relevant() -> None:
    scores = ndcg_at_k(RECOMMENDED, RELEVANT, k=3)
    expected = [L3 / (1 + L3), 1.0, 0.5 / (1 + L3 + 0.5), 0.0]
    np.testing.assert_allclose(scores.per_user, expected)
    assert scores.mean == pytest.approx(np.mean(expected))


def test_map_at_k_hand_computed_normalised_by_min_k_n_relevant() -> None:
    scores = map_at_k(RECOMMENDED, RELEVANT, k=3)
    expected = [(1 / 2) / 2, 1.0, (1 / 3) / 3, 0.0]
    np.testing.assert_allclose(scores.per_user, expected)
    assert scores.mean == pytest.approx(np.mean(expected))


def test_metrics_with_k_larger_than_every_list() -> None:
    relevant = {"a": {2, 4}, "b": {5, 99}}
    assert recall_at_k(RECOMMENDED, relevant, k=10).per_user.tolist() == [1.0, 0.5]
    ndcg = ndcg_at_k(RECOMMENDED, relevant, k=10).per_user
    np.testing.assert_allclose(ndcg, [(L3 + 1 / np.log2(5)) / (1 + L3), 1 / (1 + L3)])
    ap = map_at_k(RECOMMENDED, relevant, k=10).per_user
    np.testing.assert_allclose(ap, [(1 / 2 + 2 / 4) / 2, 1 / 2])


def test_metrics_perfect_ranking_scores_one() -> None:
    recommended = {"u": [3, 1, 2, 8]}
    relevant = {"u": {1, 2, 3}}
    for metric in (recall_at_k, ndcg_at_k, map_at_k):
        assert metric(recommended, relevant, k=3).mean == pytest.approx(1.0)


def test_metrics_without_any_relevant_user_are_nan() -> None:
    scores = ndcg_at_k({"a": [1]}, {"a": set()}, k=5)
    assert np.isnan(scores.mean) and scores.per_user.size == 0 and scores.users == ()


def test_metrics_refuse_a_list_naming_an_item_twice_and_a_bad_k() -> None:
    with pytest.raises(ValueError, match="user 'a' names an item more than once"):
        recall_at_k({"a": [1, 1, 2]}, {"a": {1}}, k=3)
    # A repeat beyond the top k does not count.
    assert recall_at_k({"a": [1, 2, 1]}, {"a": {1}}, k=2).mean == 1.0
    with pytest.raises(ConfigError, match="k must be 1 or more, got 0"):
        map_at_k(RECOMMENDED, RELEVANT, k=0)


def test_catalogue_coverage_counts_catalogue_items_in_any_top_k() -> None:
    recommended = {"a": [1, 2, 3, 4], "b": [5, 6], "c": [2, 99]}
    assert catalogue_coverage(recommended, range(1, 11), k=2) == pytest.approx(4 / 10)
    assert catalogue_coverage(recommended, range(1, 11), k=50) == pytest.approx(6 / 10)
    with pytest.raises(ValueError, match="non-empty catalogue"):
        catalogue_coverage(recommended, [], k=2)


def test_relevant_items_groups_the_test_rows_by_user() -> None:
    test = pd.DataFrame({"user": ["u2", "u1", "u2"], "item": ["x", "y", "z"]})
    assert relevant_items(test, "user", "item") == {"u2": {"x", "z"}, "u1": {"y"}}


def test_cold_start_items_are_held_out_items_under_the_threshold() -> None:
    train = pd.DataFrame({"item": ["A"] * 5 + ["B"] * 4 + ["D"]})
    test = pd.DataFrame({"item": ["A", "B", "C", "C"]})
    assert cold_start_items(train, test, "item", threshold=5) == {"B", "C"}
    assert cold_start_items(train, test, "item", threshold=4) == {"C"}
    assert cold_start_items(train, test, "item", threshold=6) == {"A", "B", "C"}
    with pytest.raises(ConfigError, match="threshold must be 1 or more"):
        cold_start_items(train, test, "item", threshold=0)


def test_cold_start_slice_restricts_relevant_sets_and_drops_empty_users() -> None:
    relevant = {"u1": {"A"}, "u2": {"A", "B"}, "u3": {"C"}}
    sliced = cold_start_relevant(relevant, {"B", "C"})
    assert sliced == {"u2": {"B"}, "u3": {"C"}}
    recommended = {"u1": ["A"], "u2": ["A", "B"], "u3": ["A", "D"]}
    scores = recall_at_k(recommended, sliced, k=2)
    assert scores.users == ("u2", "u3") and scores.per_user.tolist() == [1.0, 0.0]
