"""The four strategies of ``recommendation``: popularity, content embeddings, ALS, the hybrid.

Each wraps a recommender of this package (``recommender.py``, ``content.py``, ``als.py``,
``hybrid.py``; the hybrid's docstring says what was measured and why it is built the way it is).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from crossover.models._resolve import DEFAULT_MODEL
from crossover.strategies.recsys._base import ITEM, USER, RecsysStrategy
from crossover.strategies.recsys.als import Algorithm, AlsRecommender
from crossover.strategies.recsys.content import ContentRecommender
from crossover.strategies.recsys.hybrid import HybridRecommender
from crossover.strategies.recsys.recommender import PopularityRecommender
from crossover.strategies.registry import register

__all__ = ["RecsysAls", "RecsysContent", "RecsysHybrid", "RecsysPopularity"]


class _ContentMixin:
    """What content-reading strategies share: the encoder and its cache.

    The encoder embeds the catalogue at fit; the saved strategy keeps the item vectors, so
    serving needs no encoder (and its size is not part of the deployed footprint).
    """

    model: str
    cache_dir: str | None

    def embedding_model(self) -> str | None:
        return self.model

    def _cache_path(self) -> Path | None:
        return Path(self.cache_dir) if self.cache_dir else None


@register
class RecsysPopularity(RecsysStrategy):
    """Baseline: every user gets the items with the most training interactions.

    Reported for reference: a personalised strategy should beat it clearly.
    """

    key = "recsys.popularity"
    kind = "custom"
    engineering_kind = "pretrained"  # a sorted count: integration work only
    summary = "baseline: the most interacted-with items, the same list for everyone"
    baseline = True

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def _make(self) -> Any:
        return PopularityRecommender(USER, ITEM)


@register
class RecsysContent(_ContentMixin, RecsysStrategy):
    """Pre-trained: items embedded from their text; a user is the mean of their history.

    Nothing is learnt from the interactions; a history is the query. Needs an items file.

    Parameters
    ----------
    model : str
        The sentence-transformer (Hugging Face id or local folder).
    text_columns : sequence of str or None
        The items file's text columns (default: every text column but the id).
    cache_dir : str or None
        The embedding cache folder (default: the shared one).
    """

    key = "recsys.content-embeddings"
    kind = "pretrained"
    summary = "pre-trained sentence embeddings of item texts; a user is the mean of their history"
    needs_labels = False
    needs_text_column = True

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        text_columns: Sequence[str] | None = None,
        cache_dir: str | None = None,
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.text_columns = text_columns
        self.cache_dir = cache_dir
        self.random_state = random_state

    def _make(self) -> Any:
        return ContentRecommender(
            USER, ITEM, self.text_columns, self.model, self._cache_path(), profile="mean"
        )


@register
class RecsysAls(RecsysStrategy):
    """Custom: implicit-feedback matrix factorisation (ALS) with the ``implicit`` library.

    ``algorithm="bpr"`` (Bayesian personalised ranking) and ``"item-knn"`` (item-item cosine)
    are the options. CPU, one thread: a ``random_state`` gives the same model every run.
    """

    packages: ClassVar[tuple[str, ...]] = ("implicit",)

    key = "recsys.als"
    kind = "custom"
    summary = "collaborative filtering: implicit ALS matrix factorisation of the interactions"

    def __init__(
        self,
        algorithm: Algorithm = "als",
        factors: int = 64,
        regularization: float = 0.05,
        iterations: int = 15,
        alpha: float = 2.0,
        random_state: int = 0,
    ) -> None:
        self.algorithm = algorithm
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.random_state = random_state

    def _make(self) -> Any:
        return AlsRecommender(
            USER,
            ITEM,
            algorithm=self.algorithm,
            factors=self.factors,
            regularization=self.regularization,
            iterations=self.iterations,
            alpha=self.alpha,
            random_state=self.random_state,
        )

    def _parameter_count(self) -> int:
        if self.algorithm == "item-knn":
            return int(self.recommender_.model_.similarity.nnz)
        model = self.recommender_.model_
        return int(model.item_factors.size + model.user_factors.size)


@register
class RecsysHybrid(_ContentMixin, RecsysStrategy):
    """Hybrid: ALS blended with content embeddings, content covering the cold-start items.

    Per item, the weight moves from content to ALS as the item's interactions grow
    (``w = n / (n + c)``, ``c`` chosen on an inner split of the training rows), and one place
    of a top 10 may go to the best cold-start candidate for users whose candidate clears a
    gate chosen on that inner split. Chosen by measurement over a single global blend, a map
    from embeddings to ALS factors, and more slots (``HybridRecommender``'s docstring).

    Parameters
    ----------
    model, text_columns, cache_dir :
        Of the content side (as ``recsys.content-embeddings``).
    time : str or None
        The interactions' time column for the inner split (the study passes ``"time"`` when
        the data has one); without it the inner split is random.
    factors, regularization, iterations, alpha :
        Of the ALS side.
    cold_threshold : int
        An item with fewer training interactions is a cold-start candidate.
    """

    key = "recsys.hybrid"
    kind = "hybrid"
    engineering_kind = "custom"  # ALS plus content: at least a custom model's work
    contains = ("recsys.als", "recsys.content-embeddings")
    summary = "ALS blended per item with content embeddings, which rank the cold-start items"
    needs_text_column = True

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        text_columns: Sequence[str] | None = None,
        cache_dir: str | None = None,
        time: str | None = None,
        factors: int = 64,
        regularization: float = 0.05,
        iterations: int = 15,
        alpha: float = 2.0,
        cold_threshold: int = 5,
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.text_columns = text_columns
        self.cache_dir = cache_dir
        self.time = time
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.cold_threshold = cold_threshold
        self.random_state = random_state

    def _make(self) -> Any:
        return HybridRecommender(
            USER,
            ITEM,
            time=self.time,
            factors=self.factors,
            regularization=self.regularization,
            iterations=self.iterations,
            alpha=self.alpha,
            text_columns=self.text_columns,
            model_id=self.model,
            cache_dir=self._cache_path(),
            cold_threshold=self.cold_threshold,
            random_state=self.random_state,
        )

    def _parameter_count(self) -> int:
        model = self.recommender_.cf_.model_
        return int(model.item_factors.size + model.user_factors.size)
