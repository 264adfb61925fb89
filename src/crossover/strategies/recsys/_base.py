"""The base of the strategies of ``recommendation``: a ``Strategy`` around a recommender.

A recommendation strategy does not predict a label per row; it ranks items for users. It keeps
the ``Strategy`` contract where it applies (parameters, the registry, save/load without pickle,
the footprint) and adds the ranking calls:

- ``fit(interactions, items=items)``: ``interactions`` has the columns ``user`` and ``item``
  (one row per positive interaction; ``time`` too for a hybrid that splits by time); ``items``
  is the optional items frame (``item`` plus text columns);
- ``predict(users)``: each user's top ``k`` item ids, one list per user (what latency is timed
  on: one known user per call);
- ``recommend(users, k)``, ``recommend_items(history, k, exclude)`` (a session or a new user),
  and ``recommend_histories({user: history}, k)`` (how a study measures a model trained on a
  sample of the interactions on each test user's whole history).

Ids are strings: the study reads every id column as text, and serving compares text.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from crossover.strategies.base import Strategy
from crossover.tasks.recommendation.metrics import DEFAULT_K

__all__ = ["RecsysStrategy"]

USER, ITEM, TIME = "user", "item", "time"


class RecsysStrategy(Strategy):
    """A ``Strategy`` whose model is a recommender of ``crossover.strategies.recsys``.

    A subclass builds the recommender in ``_make`` from its parameters. ``baseline`` marks a
    strategy reported for reference (popularity).
    """

    packages: ClassVar[tuple[str, ...]] = ("pandas", "scipy")

    task = "recommendation"
    input_kind = "interactions"
    baseline: ClassVar[bool] = False
    #: The k of ``predict`` (the study's k; serving passes its own).
    k: int = DEFAULT_K

    def _make(self) -> Any:
        raise NotImplementedError

    def _inputs(self, X: Any) -> Any:
        return [str(u) for u in X]

    def fit(
        self,
        X: Any,
        y: Sequence[str] | None = None,
        *,
        label_descriptions: dict[str, str] | None = None,
        items: pd.DataFrame | None = None,
    ) -> Self:
        """Learn from the interactions ``X`` (columns ``user``, ``item``) and the items frame."""
        frame = pd.DataFrame(X).copy()
        for column in (USER, ITEM):
            if column in frame.columns:
                frame[column] = frame[column].astype(str)
        if items is not None:
            items = items.copy()
            items[ITEM] = items[ITEM].astype(str)
        np.random.seed(self.seed % (2**32))  # noqa: NPY002  (seeds third-party code)
        self.recommender_ = self._make().fit(frame, items)
        self.classes_ = np.array([], dtype=object)
        self.label_descriptions_ = {}
        return self

    def _fit(self, X: Any, y: list[str] | None) -> None:  # pragma: no cover - fit is overridden
        raise NotImplementedError

    def _predict(self, X: list[str]) -> np.ndarray:
        lists = self.recommender_.recommend(X, k=self.k)
        out = np.empty(len(X), dtype=object)
        for i, u in enumerate(X):
            out[i] = [str(v) for v in lists[u]]
        return out

    def recommend(
        self, users: Sequence[Hashable], k: int = DEFAULT_K, exclude_seen: bool = True
    ) -> dict[str, list[str]]:
        """Each user's top ``k`` item ids (unknown users: the most popular items)."""
        self._check_fitted()
        wanted = [str(u) for u in users]
        lists = self.recommender_.recommend(wanted, k=k, exclude_seen=exclude_seen)
        return {u: [str(i) for i in lists[u]] for u in wanted}

    def recommend_items(
        self, history: Sequence[Hashable], k: int = DEFAULT_K, exclude: Collection[Hashable] = ()
    ) -> list[str]:
        """The top ``k`` for a session or a new user; unknown ids raise ``DataError``."""
        self._check_fitted()
        ranked = self.recommender_.recommend_items(
            [str(i) for i in history], k=k, exclude=[str(i) for i in exclude]
        )
        return [str(i) for i in ranked]

    def recommend_histories(
        self, histories: Mapping[str, Sequence[Hashable]], k: int = DEFAULT_K
    ) -> dict[str, list[str]]:
        """Each user's top ``k`` from their history alone (items outside the catalogue ignored)."""
        self._check_fitted()
        query = {str(u): [str(i) for i in h] for u, h in histories.items()}
        lists = self.recommender_.recommend_histories(query, k=k)
        return {str(u): [str(i) for i in v] for u, v in lists.items()}

    def knows_user(self, user: Hashable) -> bool:
        """Whether ``user`` has training interactions."""
        self._check_fitted()
        return str(user) in self.recommender_.index_.users

    def knows_item(self, item: Hashable) -> bool:
        """Whether ``item`` is in the catalogue."""
        self._check_fitted()
        return str(item) in self.recommender_.index_.items

    @property
    def catalogue(self) -> list[str]:
        """Every item id the model knows: the training items, then the items file's others."""
        self._check_fitted()
        return [str(i) for i in self.recommender_.items_]

    def _save_state(self, path: Path) -> None:
        self.recommender_.save_state(path / "recommender")

    def _load_state(self, path: Path) -> None:
        self.recommender_ = self._make().load_state(path / "recommender")

    def _parameter_count(self) -> int:
        return 0
