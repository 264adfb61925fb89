"""``AlsRecommender``: collaborative filtering on implicit feedback with ``implicit``.

``implicit`` runs on the CPU with one thread and the BLAS thread pool limited to one thread
while it trains (its documentation asks for ``OPENBLAS_NUM_THREADS=1``: a BLAS thread pool
inside its own loops makes it many times slower); with one thread its results are reproducible
for a ``random_state``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crossover.errors import ConfigError
from crossover.strategies.recsys.recommender import _Recommender

__all__ = ["Algorithm", "AlsRecommender"]

Algorithm = Literal["als", "bpr", "item-knn"]


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    # implicit's first import loads a BLAS of its own (scipy's OpenBLAS); loaded inside the
    # limit it would keep its default threads, and implicit warns. Import it first.
    import implicit.als
    import implicit.bpr
    import implicit.nearest_neighbours  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        yield


class AlsRecommender(_Recommender):
    """Custom: collaborative filtering on the implicit feedback with the ``implicit`` library.

    ``algorithm="als"``: implicit-feedback matrix factorisation by alternating least squares
    (Hu, Koren and Volinsky 2008), confidence ``1 + alpha * count``; ``"bpr"``: Bayesian
    personalised ranking; ``"item-knn"``: item-item cosine neighbours. Runs on the CPU, one
    thread, so a ``random_state`` gives the same model every run.

    Only items with training interactions are ranked: a cold item has no collaborative vector.
    A user absent from the training interactions gets the most popular items;
    ``recommend_items`` folds a new history in (ALS: the least-squares user vector; BPR: the
    mean of the history's item vectors; item-kNN: the sum of its items' neighbours).

    Parameters
    ----------
    user, item : str, default="user", "item"
        The user and item id columns.
    algorithm : {"als", "bpr", "item-knn"}, default="als"
    factors : int, default=64
        Latent factors (ALS and BPR).
    regularization : float, default=0.05
    iterations : int, default=15
        Sweeps (ALS) or epochs (BPR, which needs more: 100 is its usual count).
    alpha : float, default=2.0
        Confidence scale of an interaction (ALS).
    learning_rate : float, default=0.05
        BPR only.
    neighbours : int, default=50
        Neighbours kept per item (item-kNN).
    random_state : int, default=0
    """

    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        algorithm: Algorithm = "als",
        factors: int = 64,
        regularization: float = 0.05,
        iterations: int = 15,
        alpha: float = 2.0,
        learning_rate: float = 0.05,
        neighbours: int = 50,
        random_state: int = 0,
    ) -> None:
        self.user = user
        self.item = item
        self.algorithm = algorithm
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.neighbours = neighbours
        self.random_state = random_state

    def _fit(self, items: pd.DataFrame | None) -> None:
        matrix = self.index_.seen[:, : self.index_.n_train_items].tocsr()
        with _one_blas_thread(), warnings.catch_warnings():
            # implicit's item-kNN converts a CSR matrix to COO itself, then warns about it.
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            self.model_: Any = self._make_model()
            self.model_.fit(matrix, show_progress=False)

    def _save_learned(self, path: Path) -> None:
        self.model_.save(str(path / "implicit.npz"))

    def _load_learned(self, path: Path) -> None:
        self.model_ = type(self._make_model()).load(str(path / "implicit.npz"))

    def _make_model(self) -> Any:
        if self.algorithm == "als":
            from implicit.als import AlternatingLeastSquares

            return AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                use_gpu=False,
                num_threads=1,
                random_state=self.random_state,
            )
        if self.algorithm == "bpr":
            from implicit.bpr import BayesianPersonalizedRanking

            return BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                use_gpu=False,
                num_threads=1,
                random_state=self.random_state,
            )
        if self.algorithm == "item-knn":
            from implicit.nearest_neighbours import (
                CosineRecommender,
            )

            return CosineRecommender(K=self.neighbours, num_threads=1)
        raise ConfigError(f"algorithm must be 'als', 'bpr' or 'item-knn', got {self.algorithm!r}")

    def _score(self, histories: sp.csr_matrix, rows: np.ndarray | None) -> np.ndarray:
        n_known = self.index_.n_train_items
        known = histories[:, :n_known].tocsr()
        if self.algorithm == "item-knn":
            partial = np.asarray((known @ self.model_.similarity).todense(), dtype=np.float64)
        else:
            items = np.asarray(self.model_.item_factors, dtype=np.float64)
            users = self._user_factors(known, rows)
            partial = users @ items.T
        scores = np.full((histories.shape[0], histories.shape[1]), -np.inf)
        scores[:, :n_known] = partial
        return scores

    def _user_factors(self, known: sp.csr_matrix, rows: np.ndarray | None) -> np.ndarray:
        if rows is not None:
            return np.asarray(self.model_.user_factors[rows], dtype=np.float64)
        if self.algorithm == "als":
            with _one_blas_thread():
                ids = np.arange(known.shape[0])
                return np.asarray(self.model_.recalculate_user(ids, known), dtype=np.float64)
        # BPR: the item vectors carry a bias in their last column, the user vectors a 1.
        items = np.asarray(self.model_.item_factors, dtype=np.float64)
        binary = known.copy()
        binary.data[:] = 1.0
        n = np.maximum(np.asarray(binary.sum(axis=1)), 1.0)
        users: np.ndarray = np.asarray(binary @ items) / n
        users[:, -1] = 1.0
        return users
