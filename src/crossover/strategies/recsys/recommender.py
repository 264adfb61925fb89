"""The shared contract of the recommenders of ``recommendation``, and the popularity baseline.

Every recommender follows the scikit-learn contract: ``__init__`` stores its arguments, learned
state ends in ``_``, ``fit`` returns ``self``. On an interactions frame with a user and an item
column (``user`` / ``item``, by default ``"user"`` and ``"item"``; one row per positive
interaction, a repeated pair counts as more confidence), and an optional items frame (the item
id in the same ``item`` column, plus text):

- ``fit(train, items=None)`` learns from ``train``;
- ``recommend(users, k=10, exclude_seen=True)`` gives each user's ranked top ``k`` item ids,
  best first; a user absent from ``train`` gets the most popular items (the same fallback in
  every model);
- ``recommend_items(history, k=10, exclude=None)`` ranks for a session or a new user from a list
  of item ids (what ``POST /v1/recommend`` needs); an empty history gets the most popular items.

The catalogue (``items_``) is the items of ``train`` followed by the items of the items frame
that ``train`` lacks. A model ranks only the items it can score: collaborative filtering only
items with training interactions, content only items with text. With ``exclude_seen`` (and in
``recommend_items``) a user's own training items, and ``exclude``, are never ranked, so a list is
shorter than ``k`` only when fewer items remain. Ties in score go to the more popular item, then
to the earlier item of the catalogue, so a fitted model and a seed give the same lists every run.

The recommenders themselves: ``PopularityRecommender`` here, ``ContentRecommender`` in
``content.py``, ``AlsRecommender`` in ``als.py``, ``HybridRecommender`` in ``hybrid.py``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crossover.errors import ConfigError, DataError, ModelError
from crossover.tasks.recommendation.metrics import DEFAULT_K

__all__ = ["PopularityRecommender"]

_BATCH_USERS = 256  # users scored per dense block: 256 x 10,000 items is 10 MB of float32


@dataclass(frozen=True)
class _Index:
    """The ids of a fitted model and its training matrix.

    ``seen`` is users x catalogue (interaction counts); ``counts`` the training interactions of
    each catalogue item; the first ``n_train_items`` catalogue items are those of ``train``.
    """

    users: pd.Index
    items: pd.Index
    seen: sp.csr_matrix
    counts: np.ndarray
    n_train_items: int

    @property
    def popularity_rank(self) -> np.ndarray:
        """Position of each item in the popularity order (0: most interactions)."""
        order = np.lexsort((np.arange(len(self.counts)), -self.counts))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank


def _build_index(train: pd.DataFrame, user: str, item: str, items: pd.DataFrame | None) -> _Index:
    absent = [c for c in (user, item) if c not in train.columns]
    if absent:
        raise DataError(
            f"the training interactions have no column(s) {', '.join(map(repr, absent))}; the "
            f"columns are: {', '.join(map(repr, train.columns))}"
        )
    if train.empty:
        raise DataError("the training interactions have no row; a recommender needs some")
    if train[user].isna().any() or train[item].isna().any():
        raise DataError(f"some training rows have no id in column {user!r} or {item!r}")
    user_codes, user_ids = pd.factorize(train[user], sort=False)
    item_codes, item_ids = pd.factorize(train[item], sort=False)
    n_train_items = len(item_ids)
    if items is not None:
        if item not in items.columns:
            raise DataError(
                f"the items frame has no item id column {item!r}; the columns are: "
                f"{', '.join(map(repr, items.columns))}"
            )
        listed = pd.Index(pd.unique(items[item].dropna()))
        item_ids = item_ids.append(listed[~listed.isin(item_ids)])
    data = np.ones(len(train), dtype=np.float32)
    seen = sp.csr_matrix(
        (data, (user_codes, item_codes)), shape=(len(user_ids), len(item_ids)), dtype=np.float32
    )
    seen.sum_duplicates()
    counts = np.asarray(seen.sum(axis=0), dtype=np.float64).ravel()
    return _Index(pd.Index(user_ids), pd.Index(item_ids), seen, counts, n_train_items)


def _top_k(scores: np.ndarray, k: int, tiebreak: np.ndarray) -> np.ndarray:
    """The positions of the ``k`` best finite scores, ties to the lower ``tiebreak``."""
    finite = np.flatnonzero(np.isfinite(scores))
    if finite.size == 0:
        return finite
    values = scores[finite]
    if finite.size > k:
        threshold = np.partition(values, finite.size - k)[finite.size - k]
        keep = values >= threshold  # every item tied with the k-th, to break ties by rank
        finite, values = finite[keep], values[keep]
    order = np.lexsort((tiebreak[finite], -values))
    return finite[order[:k]]


class _Recommender:
    """The shared contract: ids, the popularity fallback, exclusion and the top ``k``.

    A subclass implements ``_fit(items)`` (``index_`` is set) and ``_score(histories, rows)``:
    scores of shape (n, n_items) for ``histories`` (a users x items CSR matrix), where ``rows``
    are the training users' positions when the histories are theirs, else None; -inf for an item
    the model cannot score.
    """

    user: str
    item: str

    def fit(self, train: pd.DataFrame, items: pd.DataFrame | None = None) -> Self:
        """Learn from the interactions ``train`` (and the items frame); return ``self``."""
        self._fit_index(_build_index(train, self.user, self.item, items), items)
        return self

    def _fit_index(self, index: _Index, items: pd.DataFrame | None) -> None:
        self.index_ = index
        self.items_: list[Hashable] = index.items.tolist()
        self.popularity_: np.ndarray = index.counts
        self._tiebreak = index.popularity_rank
        self._fit(items)

    def _fit(self, items: pd.DataFrame | None) -> None:
        raise NotImplementedError

    def _score(self, histories: sp.csr_matrix, rows: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def recommend(
        self, users: Sequence[Hashable], k: int = DEFAULT_K, exclude_seen: bool = True
    ) -> dict[Hashable, list[Hashable]]:
        """Each user's top ``k`` item ids, best first (unknown users: the most popular items).

        Parameters
        ----------
        users : sequence
            User ids; those absent from the training interactions get the popularity ranking.
        k : int, default=10
            The length of each list (shorter only when fewer rankable items remain).
        exclude_seen : bool, default=True
            Leave out each user's training items.

        Returns
        -------
        dict
            User id -> list of item ids, in the order of ``users``.
        """
        index = self._fitted()
        _check_k(k)
        out: dict[Hashable, list[Hashable]] = {}
        positions = index.users.get_indexer(pd.Index(list(users)))
        known = [(u, p) for u, p in zip(users, positions, strict=True) if p >= 0]
        for u in users:
            out[u] = []
        for start in range(0, len(known), _BATCH_USERS):
            batch = known[start : start + _BATCH_USERS]
            rows = np.array([p for _, p in batch], dtype=np.int64)
            histories = index.seen[rows]
            excluded = histories if exclude_seen else None
            for (u, _), ranked in zip(batch, self._rank(histories, rows, k, excluded), strict=True):
                out[u] = self._ids(ranked)
        unknown = [u for u, p in zip(users, positions, strict=True) if p < 0]
        if unknown:
            popular = self._ids(_top_k(self.popularity_.copy(), k, self._tiebreak))
            for u in unknown:
                out[u] = list(popular)
        return out

    def recommend_items(
        self,
        history: Sequence[Hashable],
        k: int = DEFAULT_K,
        exclude: Collection[Hashable] | None = None,
    ) -> list[Hashable]:
        """The top ``k`` item ids for a session or a new user who interacted with ``history``.

        The history's items and ``exclude`` are never ranked. Raises ``DataError`` naming the
        ids of ``history`` (or ``exclude``) that are not in the catalogue.
        """
        index = self._fitted()
        _check_k(k)
        positions = self._positions(history, "history")
        excluded = self._positions(exclude or [], "exclude")
        histories = sp.csr_matrix(
            (np.ones(len(positions), dtype=np.float32), (np.zeros(len(positions)), positions)),
            shape=(1, len(index.items)),
            dtype=np.float32,
        )
        histories.sum_duplicates()
        if len(positions):
            hidden = np.concatenate([positions, excluded])
            mask = sp.csr_matrix(
                (np.ones(len(hidden)), (np.zeros(len(hidden)), hidden)), shape=histories.shape
            )
            return self._ids(self._rank(histories, None, k, mask)[0])
        scores = self.popularity_.astype(np.float64)[None, :].copy()
        scores[0, excluded] = -np.inf
        return self._ids(_top_k(scores[0], k, self._tiebreak))

    def recommend_histories(
        self, histories: Mapping[Hashable, Sequence[Hashable]], k: int = DEFAULT_K
    ) -> dict[Hashable, list[Hashable]]:
        """Each user's top ``k`` item ids given their ``history`` of item ids (a query).

        Unlike ``recommend``, the model's own training rows play no part in who the user is:
        the history is the whole profile (ALS folds it in as a new user). This is how a model
        trained on a sample of the interactions is measured on every test user's full
        history. Items of a history outside the catalogue are ignored; a history's items are
        never ranked; an empty history gets the most popular items.
        """
        index = self._fitted()
        _check_k(k)
        users = list(histories)
        out: dict[Hashable, list[Hashable]] = {}
        popular: list[Hashable] | None = None
        for start in range(0, len(users), _BATCH_USERS):
            batch = users[start : start + _BATCH_USERS]
            rows, cols = [], []
            for i, u in enumerate(batch):
                found = index.items.get_indexer(pd.Index(list(histories[u])))
                found = found[found >= 0]
                rows.extend([i] * len(found))
                cols.extend(found.tolist())
            matrix = sp.csr_matrix(
                (np.ones(len(rows), dtype=np.float32), (rows, cols)),
                shape=(len(batch), len(index.items)),
                dtype=np.float32,
            )
            matrix.sum_duplicates()
            empty = np.diff(matrix.indptr) == 0
            for u, ranked, is_empty in zip(
                batch, self._rank(matrix, None, k, matrix), empty, strict=True
            ):
                if is_empty:
                    if popular is None:
                        popular = self._ids(_top_k(self.popularity_.copy(), k, self._tiebreak))
                    out[u] = list(popular)
                else:
                    out[u] = self._ids(ranked)
        return out

    # -- persistence (no pickle: JSON, numpy's .npy/.npz and implicit's own .npz) ------------

    def save_state(self, path: Path) -> None:
        """Write the fitted model's ids, training matrix and learned arrays into ``path``."""
        index = self._fitted()
        path.mkdir(parents=True, exist_ok=True)
        ids = {
            "users": [_plain(u) for u in index.users],
            "items": [_plain(i) for i in index.items],
            "n_train_items": index.n_train_items,
        }
        (path / "index.json").write_text(json.dumps(ids))
        sp.save_npz(path / "seen.npz", index.seen)
        self._save_learned(path)

    def load_state(self, path: Path) -> Self:
        """Read what ``save_state`` wrote; returns ``self``."""
        ids = json.loads((path / "index.json").read_text())
        seen = sp.load_npz(path / "seen.npz").tocsr().astype(np.float32)
        counts = np.asarray(seen.sum(axis=0), dtype=np.float64).ravel()
        index = _Index(
            pd.Index(ids["users"], dtype=object),
            pd.Index(ids["items"], dtype=object),
            seen,
            counts,
            int(ids["n_train_items"]),
        )
        self.index_ = index
        self.items_ = index.items.tolist()
        self.popularity_ = index.counts
        self._tiebreak = index.popularity_rank
        self._load_learned(path)
        return self

    def _save_learned(self, path: Path) -> None:
        """Write what ``_fit`` learned besides the index (nothing by default)."""

    def _load_learned(self, path: Path) -> None:
        """Read what ``_save_learned`` wrote."""

    def _rank(
        self,
        histories: sp.csr_matrix,
        rows: np.ndarray | None,
        k: int,
        excluded: sp.csr_matrix | None,
    ) -> list[np.ndarray]:
        """Each history's top ``k`` positions; the nonzeros of ``excluded`` are never ranked."""
        scores = self._score(histories, rows)
        if excluded is not None:
            _mask_seen(scores, excluded)
        return [_top_k(row, k, self._tiebreak) for row in scores]

    def _positions(self, ids: Collection[Hashable], what: str) -> np.ndarray:
        wanted = list(ids)
        positions = self.index_.items.get_indexer(pd.Index(wanted)) if wanted else np.array([])
        unknown = [i for i, p in zip(wanted, positions, strict=True) if p < 0]
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:5])
            raise DataError(
                f"{len(unknown)} item id(s) of the {what} are not in the catalogue (e.g. "
                f"{shown}); use ids of the training interactions or the items file"
            )
        return np.asarray(positions, dtype=np.int64)

    def _ids(self, positions: np.ndarray) -> list[Hashable]:
        return [self.items_[p] for p in positions.tolist()]

    def _fitted(self) -> _Index:
        if not hasattr(self, "index_"):
            raise ModelError(f"this {type(self).__name__} is not fitted yet; call fit first")
        return self.index_


class PopularityRecommender(_Recommender):
    """The baseline: every user gets the items with the most training interactions.

    Parameters
    ----------
    user, item : str, default="user", "item"
        The user and item id columns.
    """

    def __init__(self, user: str = "user", item: str = "item") -> None:
        self.user = user
        self.item = item

    def _fit(self, items: pd.DataFrame | None) -> None:
        pass

    def _score(self, histories: sp.csr_matrix, rows: np.ndarray | None) -> np.ndarray:
        return np.tile(self.popularity_.astype(np.float64), (histories.shape[0], 1))


def _mask_seen(scores: np.ndarray, histories: sp.csr_matrix) -> None:
    coo = histories.tocoo()
    scores[coo.row, coo.col] = -np.inf


def _plain(value: Hashable) -> Any:
    """An id as JSON holds it: numpy scalars become Python numbers."""
    return value.item() if isinstance(value, np.generic) else value


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k must be a whole number of 1 or more, got {k!r}")
