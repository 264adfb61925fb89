"""Custom ``tabular.linear``: one-hot encoding, scaling and a logistic regression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crossover.strategies.registry import register
from crossover.strategies.tabular._base import TabularStrategy, load_linear, save_linear
from crossover.strategies.tabular.learners import LinearClassifier

__all__ = ["TabularLinear"]


@register
class TabularLinear(TabularStrategy):
    """One-hot categoricals, standardised numbers (median-imputed, with missing indicators),
    L2-regularised logistic regression
    (``crossover.strategies.tabular.learners.LinearClassifier``)."""

    key = "tabular.linear"
    kind = "custom"
    summary = "one-hot + scaling + logistic regression, trained from scratch"

    def __init__(
        self,
        *,
        column_types: dict[str, str] | None = None,
        time_column: str | None = None,
        C: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.column_types = column_types
        self.time_column = time_column
        self.C = C
        self.random_state = random_state

    def _fit(self, X: pd.DataFrame, y: list[str] | None) -> None:
        assert y is not None
        types = self._fit_table(X, y)
        model = LinearClassifier(types, C=self.C)
        self.estimator_ = model.fit(self._columns(X), np.asarray(y, dtype=object))

    def _predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(self._columns(X)))

    def _save_state(self, path: Path) -> None:
        self._write_meta(path, {"linear": save_linear(self.estimator_, path, "linear")})

    def _load_state(self, path: Path) -> None:
        meta = self._read_meta(path)
        self.estimator_ = load_linear(path, "linear", meta["linear"])

    def _parameter_count(self) -> int:
        model = self.estimator_.model_
        return int(model.coef_.size + model.intercept_.size)
