"""Hybrid ``tabular.gbm-embeddings``: LightGBM on the table plus reduced sentence embeddings of
its free-text columns (merchant names, descriptions).

Each text column is embedded with the pre-trained sentence-transformer (through the shared
embedding cache, so a text is encoded once per machine), reduced by a PCA fitted on the
training rows to ``n_components`` numeric columns ``<column>__emb0 ..``, and given to the same
``GbmClassifier`` as ``tabular.gbm`` beside the other columns. Offered when the table has a
text column; without one it would be ``tabular.gbm`` again.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from crossover.errors import DataError
from crossover.models._resolve import DEFAULT_MODEL
from crossover.models.sklearn_io import load_sklearn, save_sklearn
from crossover.strategies.registry import register
from crossover.strategies.tabular._base import (
    TabularStrategy,
    leaf_count,
    lgbm_threads,
    load_gbm,
    min_leaf_rows,
    save_gbm,
)
from crossover.strategies.tabular.learners import GbmClassifier
from crossover.strategies.text._embedding import DEFAULT_ENCODER, EmbeddingStrategy
from crossover.tasks.tabular.columns import ColumnTypes

__all__ = ["TabularGbmEmbeddings"]


@register
class TabularGbmEmbeddings(TabularStrategy, EmbeddingStrategy):
    """LightGBM on the table plus PCA-reduced sentence embeddings of each text column."""

    packages: ClassVar[tuple[str, ...]] = ("lightgbm",)

    key = "tabular.gbm-embeddings"
    kind = "hybrid"
    engineering_kind = "custom"  # LightGBM plus embeddings: a custom model's work
    summary = "LightGBM on the table + pre-trained sentence embeddings of its text columns"
    needs_text_column = True

    def __init__(
        self,
        *,
        column_types: dict[str, str] | None = None,
        time_column: str | None = None,
        model: str = DEFAULT_MODEL,
        n_components: int = 16,
        cache_dir: str | None = None,
        use_cache: bool = True,
        encoder: str = DEFAULT_ENCODER,
        encoder_calibration: str | None = None,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        n_jobs: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.column_types = column_types
        self.time_column = time_column
        self.model = model
        self.n_components = n_components
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.encoder = encoder
        self.encoder_calibration = encoder_calibration
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _with_embeddings(self, X: pd.DataFrame) -> pd.DataFrame:
        """The input columns, each text column replaced by its reduced embedding."""
        frame = self._columns(X)
        parts = [frame.drop(columns=self.text_columns_)]
        for column in self.text_columns_:
            texts = frame[column].fillna("").astype(str).tolist()
            reduced = self.reducers_[column].transform(self._embed(texts))
            names = [f"{column}__emb{i}" for i in range(reduced.shape[1])]
            parts.append(pd.DataFrame(reduced, columns=names, index=frame.index))
        return pd.concat(parts, axis=1)

    def _fit(self, X: pd.DataFrame, y: list[str] | None) -> None:
        from sklearn.decomposition import PCA

        assert y is not None
        types = self._fit_table(X, y)
        self.text_columns_ = types.text
        if not self.text_columns_:
            raise DataError(
                f"{self.key}: the table has no free-text column to embed; mark one with "
                "--text-columns COLUMN, or use tabular.gbm"
            )
        frame = self._columns(X)
        self.reducers_ = {}
        kinds = {c: k for c, k in types.kinds.items() if k != "text"}
        for column in self.text_columns_:
            vectors = self._embed(frame[column].fillna("").astype(str).tolist())
            n = max(1, min(self.n_components, vectors.shape[1], len(frame) - 1))
            self.reducers_[column] = PCA(n, random_state=self.random_state).fit(vectors)
            kinds.update({f"{column}__emb{i}": "numeric" for i in range(n)})
        model = GbmClassifier(
            ColumnTypes(label=types.label, kinds=kinds, time=types.time),  # type: ignore[arg-type]
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=min_leaf_rows(len(X)),
            n_jobs=lgbm_threads(self.n_jobs),
            random_state=self.random_state,
        )
        self.estimator_ = model.fit(self._with_embeddings(X), np.asarray(y, dtype=object))

    def _predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(self._with_embeddings(X)))

    def _save_state(self, path: Path) -> None:
        for i, column in enumerate(self.text_columns_):
            save_sklearn(self.reducers_[column], path / f"pca{i}.skops")
        self._write_meta(
            path, {"gbm": save_gbm(self.estimator_, path, "gbm"), "text": self.text_columns_}
        )

    def _load_state(self, path: Path) -> None:
        meta = self._read_meta(path)
        self.text_columns_ = list(meta["text"])
        self.reducers_ = {
            column: load_sklearn(path / f"pca{i}.skops")
            for i, column in enumerate(self.text_columns_)
        }
        self.estimator_ = load_gbm(path, "gbm", meta["gbm"])

    def _parameter_count(self) -> int:
        leaves = leaf_count(self.estimator_)
        pca = sum(int(r.components_.size) for r in self.reducers_.values())
        return leaves + pca + self._encoder_parameters()
