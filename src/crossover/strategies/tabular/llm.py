"""Pretrained ``tabular.llm-zero-shot``: an LLM behind an API classifies each row, serialised.

Each row becomes one line of text, ``column: value; column: value; ...`` (every input column
the study names, missing values left out), and goes to the LLM exactly as
``text.llm-zero-shot`` sends a text (same prompt, client, cache, spend cap and parsing). An LLM
gives a label, not a probability: the probabilities are one-hot on its answer, so the ranking
metrics (PR-AUC, ROC-AUC) see one operating point; an unparseable or failed answer gets equal
probabilities (the trial's ``api`` record counts them).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from crossover.errors import DataError, ModelError
from crossover.strategies.registry import register
from crossover.strategies.text.llm import _LlmClassifier

__all__ = ["TabularLlmZeroShot", "serialise_rows"]


def serialise_rows(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Each row as ``column: value; ...`` over ``columns`` present in ``frame``."""
    present = [c for c in columns if c in frame.columns] or list(frame.columns)
    out = []
    for values in frame[present].itertuples(index=False, name=None):
        parts = [
            f"{column}: {value}"
            for column, value in zip(present, values, strict=True)
            if not (value is None or (isinstance(value, float) and np.isnan(value)))
            and str(value) != ""
        ]
        out.append("; ".join(parts))
    return out


@register
class TabularLlmZeroShot(_LlmClassifier):
    """Pretrained: an LLM behind an API reads each row as text; never sees a training row."""

    key = "tabular.llm-zero-shot"
    kind = "pretrained"
    task = "tabular-classification"
    summary = "an LLM behind an API reading each row serialised as text (column: value; ...)"
    needs_labels = False
    has_proba = True
    input_kind: ClassVar[Literal["text", "table"]] = "table"
    examples_per_class = 0

    def __init__(
        self,
        llm: str = "",
        *,
        column_types: dict[str, str] | None = None,
        time_column: str | None = None,
        api_base: str | None = None,
        api_key_env: str | None = None,
        input_usd_per_mtok: float | None = None,
        output_usd_per_mtok: float | None = None,
        max_tokens: int = 32,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        max_concurrency: int = 4,
        cache_dir: str | None = None,
        use_cache: bool = True,
        random_state: int = 0,
    ) -> None:
        super().__init__(
            llm,
            api_base=api_base,
            api_key_env=api_key_env,
            input_usd_per_mtok=input_usd_per_mtok,
            output_usd_per_mtok=output_usd_per_mtok,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            cache_dir=cache_dir,
            use_cache=use_cache,
            random_state=random_state,
        )
        self.column_types = column_types
        self.time_column = time_column

    def _columns(self) -> list[str]:
        return [c for c in (self.column_types or {}) if c != self.time_column]

    def input_schema(self) -> dict[str, str]:
        """The input columns and their kinds, in the order each row is written out (what
        ``crossover serve`` asks of a request); the study's column types give them."""
        self._check_fitted()
        if not self.column_types:
            raise ModelError(
                f"{self.key} was built without column_types; it cannot name its input columns"
            )
        return {c: str(self.column_types[c]) for c in self._columns()}

    def _texts(self, X: Any) -> list[str]:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self._columns() if c not in X.columns]
            if missing:
                raise DataError(
                    f"{self.key}: the rows lack column(s) {', '.join(map(repr, missing))}, "
                    "which the model reads; send every input column (a value may be empty)"
                )
            return serialise_rows(X, self._columns())
        return [str(t) for t in X]

    def estimate(self, texts: Any) -> dict[str, float]:
        return super().estimate(self._texts(texts))

    def _predict(self, X: Any) -> np.ndarray:
        return super()._predict(self._texts(X))

    def _predict_proba(self, X: Any) -> np.ndarray:
        labels = self._predict(X)
        index = {c: i for i, c in enumerate(self.classes_)}
        proba = np.full((len(labels), len(self.classes_)), 1.0 / len(self.classes_))
        for row, label in enumerate(labels):
            if label in index:
                proba[row] = 0.0
                proba[row, index[label]] = 1.0
        return proba
