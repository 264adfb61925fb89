"""Ranking metrics of ``recommendation``, and the cold-start slice.

Inputs: ``recommended`` maps a user to a ranked list of item ids, best first; ``relevant`` maps a
user to the set of their held-out items (binary relevance: an item is relevant or not). Only the
top ``k`` of each list count. For a user with relevant items ``R`` (``|R| = n``) and top-``k``
list ``L`` (``rel_i = 1`` when the item at 1-based position ``i`` is in ``R``)::

    recall@k = |L ∩ R| / n
    NDCG@k   = DCG / IDCG,  DCG = sum_i rel_i / log2(i + 1),
               IDCG = sum_{i = 1 .. min(k, n)} 1 / log2(i + 1)
    MAP@k    = sum_i rel_i * precision@i / min(k, n)   (averaged over users)

A list shorter than ``k`` is scored as it is (its missing positions are misses), so the ideal
terms still run to ``min(k, n)``. Each metric is the mean over the users of ``relevant`` with at
least one relevant item, in the order of ``relevant``; such a user with no list scores 0. Users
with no relevant item are left out (no metric is defined for them), as are lists of users not in
``relevant``. The per-user scores come back too, in that same order, so a paired bootstrap can
resample the same users for every strategy.

A list that names one item twice raises ``ValueError``: counted twice it would inflate the scores.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from crossover.errors import ConfigError

__all__ = [
    "COLD_START_THRESHOLD",
    "DEFAULT_K",
    "GLOSSARY",
    "UserScores",
    "catalogue_coverage",
    "cold_start_items",
    "cold_start_relevant",
    "map_at_k",
    "ndcg_at_k",
    "recall_at_k",
    "relevant_items",
]

#: What the ranking metrics mean (the task's glossary entries; k is the study's --k).
GLOSSARY = {
    "ndcg_at_k": "normalised discounted cumulative gain of each test user's top-k list "
    "against their held-out items, mean over test users (1 = the held-out items ranked at the top)",
    "recall_at_k": "share of each test user's held-out items found in their top-k list, mean "
    "over test users",
    "map_at_k": "mean average precision of each test user's top-k list, mean over test users",
    "coverage_at_k": "share of the catalogue that appears in at least one top-k list",
    "cold_ndcg_at_k": "ndcg_at_k over the held-out items with few training interactions (the "
    "cold-start slice: fewer than the study's cold threshold), mean over the users who have one",
    "cold_recall_at_k": "recall_at_k on the cold-start slice",
    "cold_map_at_k": "map_at_k on the cold-start slice",
}

DEFAULT_K = 10
COLD_START_THRESHOLD = 5

# Any hashable ids: a caller's ``dict[int, list[str]]`` type-checks as it is.
UserId = TypeVar("UserId", bound=Hashable)
ItemId = TypeVar("ItemId", bound=Hashable)
# A metric of one user: (hits at positions 1..len(top), number relevant, k).
_UserMetric = Callable[[np.ndarray, int, int], float]


@dataclass(frozen=True)
class UserScores:
    """A metric over users: ``mean`` of ``per_user``, whose entry ``i`` belongs to ``users[i]``.

    ``mean`` is NaN when no user has a relevant item (``per_user`` is then empty).
    """

    mean: float
    per_user: np.ndarray
    users: tuple[Hashable, ...]


def recall_at_k(
    recommended: Mapping[UserId, Sequence[ItemId]],
    relevant: Mapping[UserId, Collection[ItemId]],
    k: int = DEFAULT_K,
) -> UserScores:
    """Share of each user's relevant items found in their top ``k`` (module docstring)."""
    return _over_users(_recall, recommended, relevant, k)


def ndcg_at_k(
    recommended: Mapping[UserId, Sequence[ItemId]],
    relevant: Mapping[UserId, Collection[ItemId]],
    k: int = DEFAULT_K,
) -> UserScores:
    """Normalised discounted cumulative gain at ``k``, binary relevance (module docstring)."""
    return _over_users(_ndcg, recommended, relevant, k)


def map_at_k(
    recommended: Mapping[UserId, Sequence[ItemId]],
    relevant: Mapping[UserId, Collection[ItemId]],
    k: int = DEFAULT_K,
) -> UserScores:
    """Mean average precision at ``k``, normalised by ``min(k, n_relevant)`` (module docstring)."""
    return _over_users(_average_precision, recommended, relevant, k)


def catalogue_coverage(
    recommended: Mapping[UserId, Sequence[ItemId]], catalogue: Iterable[ItemId], k: int = DEFAULT_K
) -> float:
    """Share of the catalogue's items that appear in at least one user's top ``k``.

    Items outside ``catalogue`` are not counted; an empty catalogue raises ``ValueError``.
    A strategy that recommends the same popular items to everyone scores near 0.
    """
    _check_k(k)
    items = set(catalogue)
    if not items:
        raise ValueError("catalogue coverage needs a non-empty catalogue")
    shown: set[ItemId] = set()
    for ranked in recommended.values():
        shown.update(list(ranked)[:k])
    return len(shown & items) / len(items)


def relevant_items(test: pd.DataFrame, user: str, item: str) -> dict[Hashable, set[Hashable]]:
    """The held-out items of each user of ``test``, as the ``relevant`` mapping of the metrics.

    Users come in the order of their first test row.
    """
    out: dict[Hashable, set[Hashable]] = {}
    for u, i in zip(test[user].tolist(), test[item].tolist(), strict=True):
        out.setdefault(u, set()).add(i)
    return out


def cold_start_items(
    train: pd.DataFrame,
    test: pd.DataFrame,
    item: str,
    threshold: int = COLD_START_THRESHOLD,
) -> set[Hashable]:
    """The held-out items with fewer than ``threshold`` training interactions (0 included).

    These are the items collaborative filtering knows little or nothing about; scoring the
    ranking metrics on them alone (``cold_start_relevant``) is the cold-start slice.
    """
    if threshold < 1:
        raise ConfigError(f"the cold-start threshold must be 1 or more, got {threshold}")
    counts = train[item].value_counts()
    held_out = pd.unique(test[item].dropna())
    n_train = counts.reindex(held_out, fill_value=0)
    return set(n_train.index[n_train.to_numpy() < threshold].tolist())


def cold_start_relevant(
    relevant: Mapping[UserId, Collection[ItemId]], cold_items: Collection[ItemId]
) -> dict[UserId, set[ItemId]]:
    """``relevant`` restricted to ``cold_items``; users left with none are dropped.

    Pass the result to the metrics, with the same full-catalogue rankings, to score the
    cold-start slice: how well a strategy ranks the held-out items it has (almost) never seen.
    """
    cold = set(cold_items)
    restricted = {u: set(items) & cold for u, items in relevant.items()}
    return {u: items for u, items in restricted.items() if items}


def _over_users(
    metric: _UserMetric,
    recommended: Mapping[UserId, Sequence[ItemId]],
    relevant: Mapping[UserId, Collection[ItemId]],
    k: int,
) -> UserScores:
    _check_k(k)
    users: list[UserId] = []
    scores: list[float] = []
    for u, items in relevant.items():
        wanted = set(items)
        if not wanted:
            continue
        top = list(recommended.get(u, ()))[:k]
        if len(set(top)) != len(top):
            raise ValueError(f"the ranked list of user {u!r} names an item more than once")
        hits = np.fromiter((i in wanted for i in top), dtype=float, count=len(top))
        users.append(u)
        scores.append(metric(hits, len(wanted), k))
    per_user = np.asarray(scores, dtype=float)
    mean = float(per_user.mean()) if per_user.size else float("nan")
    return UserScores(mean=mean, per_user=per_user, users=tuple(users))


def _recall(hits: np.ndarray, n_relevant: int, k: int) -> float:
    return float(hits.sum() / n_relevant)


def _ndcg(hits: np.ndarray, n_relevant: int, k: int) -> float:
    dcg = float(np.sum(hits / np.log2(np.arange(2, len(hits) + 2))))
    ideal = float(np.sum(1.0 / np.log2(np.arange(2, min(k, n_relevant) + 2))))
    return dcg / ideal


def _average_precision(hits: np.ndarray, n_relevant: int, k: int) -> float:
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(np.sum(precision * hits) / min(k, n_relevant))


def _check_k(k: int) -> None:
    if k < 1:
        raise ConfigError(f"k must be 1 or more, got {k}")
