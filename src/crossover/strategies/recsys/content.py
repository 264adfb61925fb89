"""``ContentRecommender``: items ranked by the similarity of their text to a user's history."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crossover.errors import ConfigError
from crossover.strategies.recsys.recommender import _Recommender
from crossover.tasks.recommendation.texts import item_texts

__all__ = ["ContentRecommender", "Profile"]

Profile = Literal["mean", "neighbours"]


class ContentRecommender(_Recommender):
    """Pre-trained: items ranked by the cosine similarity of their text to the user's history.

    Each item's text (its non-empty text columns joined with ``". "``, ``|``-separated tags
    written as a list) is embedded with a sentence-transformer through the shared embedding
    cache; a user's profile is the mean of their history's item vectors. Nothing is learnt from
    the interactions: ``fit`` embeds the items and keeps the histories. Items without text are
    never ranked; a user none of whose items has text gets the popularity order.
    ``profile="neighbours"`` scores an item instead by its mean similarity to its
    ``neighbours`` closest history items (it finds sequels and near-duplicates that a mean of a
    long, varied history blurs; the hybrid uses it).

    Parameters
    ----------
    user, item : str, default="user", "item"
        The user and item id columns (``item`` also in the items frame).
    text_columns : sequence of str or None, default=None
        The text columns of the items frame; by default every text column but the id.
    model_id : str or None, default=None
        The sentence-transformer; by default ``crossover.models._resolve.DEFAULT_MODEL``.
    cache_dir : pathlib.Path or None, default=None
        The embedding cache folder; by default the shared one.
    profile : {"mean", "neighbours"}, default="mean"
        How a history scores an item: the cosine to the mean of its vectors, or the mean cosine
        to the item's ``neighbours`` closest history items.
    neighbours : int, default=3
        For ``profile="neighbours"``.

    Attributes
    ----------
    item_vectors_ : numpy.ndarray
        (n_items, dimension) L2-normalised vectors of the catalogue; zeros where no text.
    has_text_ : numpy.ndarray
        Whether each catalogue item has text.
    """

    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        text_columns: Sequence[str] | None = None,
        model_id: str | None = None,
        cache_dir: Path | None = None,
        profile: Profile = "mean",
        neighbours: int = 3,
    ) -> None:
        self.user = user
        self.item = item
        self.text_columns = text_columns
        self.model_id = model_id
        self.cache_dir = cache_dir
        self.profile = profile
        self.neighbours = neighbours

    def _fit(self, items: pd.DataFrame | None) -> None:
        from crossover.models import get_embedder
        from crossover.models._resolve import DEFAULT_MODEL

        if items is None:
            raise ConfigError(
                f"{type(self).__name__} ranks items by their text and needs an items frame "
                "(an items file with an id and text columns)"
            )
        texts = item_texts(items, self.item, self.text_columns)
        catalogue_texts = texts.reindex(self.index_.items).fillna("")
        self.has_text_ = (catalogue_texts != "").to_numpy()
        embedder = get_embedder(self.model_id or DEFAULT_MODEL, cache_dir=self.cache_dir)
        vectors = embedder.encode(catalogue_texts[self.has_text_].tolist())
        self.item_vectors_ = np.zeros((len(catalogue_texts), vectors.shape[1]), dtype=np.float32)
        self.item_vectors_[self.has_text_] = vectors

    def _score(self, histories: sp.csr_matrix, rows: np.ndarray | None) -> np.ndarray:
        if self.profile == "neighbours":
            scores = self._neighbour_scores(histories)
        elif self.profile == "mean":
            binary = histories.copy()
            binary.data[:] = 1.0
            profiles = np.asarray(binary @ self.item_vectors_)
            norms = np.linalg.norm(profiles, axis=1, keepdims=True)
            profiles /= np.where(norms > 0, norms, 1.0)
            scores = (profiles @ self.item_vectors_.T).astype(np.float64)
        else:
            raise ConfigError(f"profile must be 'mean' or 'neighbours', got {self.profile!r}")
        scores[:, ~self.has_text_] = -np.inf
        return scores

    def _save_learned(self, path: Path) -> None:
        np.save(path / "item_vectors.npy", self.item_vectors_)
        np.save(path / "has_text.npy", self.has_text_)

    def _load_learned(self, path: Path) -> None:
        self.item_vectors_ = np.load(path / "item_vectors.npy", allow_pickle=False)
        self.has_text_ = np.load(path / "has_text.npy", allow_pickle=False)

    def _neighbour_scores(self, histories: sp.csr_matrix) -> np.ndarray:
        """Each item's mean similarity to its ``neighbours`` closest items of the history."""
        vectors = self.item_vectors_
        scores = np.zeros((histories.shape[0], vectors.shape[0]))
        for i in range(histories.shape[0]):
            history = histories.indices[histories.indptr[i] : histories.indptr[i + 1]]
            history = history[self.has_text_[history]]
            if history.size == 0:
                continue
            similarities = vectors[history] @ vectors.T
            top = min(self.neighbours, history.size)
            closest = np.partition(similarities, history.size - top, axis=0)
            scores[i] = closest[history.size - top :].mean(axis=0)
        return scores
