"""Custom ``tabular.gbm``: LightGBM trained on the table from scratch."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

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

__all__ = ["TabularGbm"]


@register
class TabularGbm(TabularStrategy):
    """LightGBM with native categorical splits and early stopping on an inner validation
    split (``crossover.strategies.tabular.learners.GbmClassifier``); no class re-weighting by
    default (measured: it moved the probabilities, not the ranking; see that class)."""

    packages: ClassVar[tuple[str, ...]] = ("lightgbm",)

    key = "tabular.gbm"
    kind = "custom"
    summary = "LightGBM gradient boosting on the table, trained from scratch"

    def __init__(
        self,
        *,
        column_types: dict[str, str] | None = None,
        time_column: str | None = None,
        imbalance: str = "none",
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        n_jobs: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.column_types = column_types
        self.time_column = time_column
        self.imbalance = imbalance
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _make(self, n_rows: int) -> GbmClassifier:
        return GbmClassifier(
            imbalance=self.imbalance,  # type: ignore[arg-type]
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=min_leaf_rows(n_rows),
            n_jobs=lgbm_threads(self.n_jobs),
            random_state=self.random_state,
        )

    def _fit(self, X: pd.DataFrame, y: list[str] | None) -> None:
        assert y is not None
        types = self._fit_table(X, y)
        model = self._make(len(X))
        model.types = types
        self.estimator_ = model.fit(self._columns(X), np.asarray(y, dtype=object))

    def _predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(self._columns(X)))

    def _save_state(self, path: Path) -> None:
        self._write_meta(path, {"gbm": save_gbm(self.estimator_, path, "gbm")})

    def _load_state(self, path: Path) -> None:
        meta = self._read_meta(path)
        self.estimator_ = load_gbm(path, "gbm", meta["gbm"])

    def _parameter_count(self) -> int:
        return leaf_count(self.estimator_)
