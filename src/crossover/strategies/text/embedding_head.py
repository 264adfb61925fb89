"""Hybrid ``text.embedding-head``: frozen sentence embeddings + a logistic-regression head."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from crossover.models.sklearn_io import load_sklearn, save_sklearn
from crossover.strategies.registry import register
from crossover.strategies.text._embedding import DEFAULT_MODEL, EmbeddingStrategy

__all__ = ["EmbeddingHead"]


@register
class EmbeddingHead(EmbeddingStrategy):
    """A pre-trained encoder, frozen, with a multinomial logistic regression trained on top."""

    packages: ClassVar[tuple[str, ...]] = ("scikit-learn", "skops")

    key = "text.embedding-head"
    kind = "hybrid"
    task = "text-classification"
    summary = "frozen pre-trained sentence embeddings + logistic-regression head"
    has_proba = True

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        C: float = 20.0,
        max_iter: int = 2000,
        random_state: int = 0,
        cache_dir: str | None = None,
        use_cache: bool = True,
    ) -> None:
        self.model = model
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.use_cache = use_cache

    def _fit(self, X: list[str] | None, y: list[str] | None) -> None:
        from sklearn.linear_model import LogisticRegression

        assert X is not None and y is not None
        head = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state)
        self.head_ = head.fit(self._embed(X), np.asarray(y, dtype=object))

    def _predict(self, X: list[str]) -> np.ndarray:
        return np.asarray(self.head_.predict(self._embed(X)), dtype=object)

    def _predict_proba(self, X: list[str]) -> np.ndarray:
        proba = self.head_.predict_proba(self._embed(X))
        # The head's classes are those it saw; align to classes_ (identical after fit).
        order = [list(self.head_.classes_).index(c) for c in self.classes_]
        return np.asarray(proba[:, order])

    def _save_state(self, path: Path) -> None:
        save_sklearn(self.head_, path / "head.skops")

    def _load_state(self, path: Path) -> None:
        self.head_ = load_sklearn(path / "head.skops")

    def _parameter_count(self) -> int:
        return self._encoder_parameters() + int(self.head_.coef_.size + self.head_.intercept_.size)
