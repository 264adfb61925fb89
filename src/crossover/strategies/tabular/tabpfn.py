"""Pretrained ``tabular.tabpfn``: the TabPFN foundation model, used as it is.

TabPFN (Hollmann et al., Nature 2025) is a transformer pre-trained on millions of synthetic
tables; it classifies a new table *in context*: ``fit`` stores the training rows and
``predict_proba`` reads them together with the test rows in one forward pass, without any
gradient step on the user's data. In our vocabulary that is a pre-trained model used as it is;
it is listed as ``pretrained`` although, unlike zero-shot text models, it reads the labelled
training rows (as its context, the way a few-shot prompt does).

Its weights come from the Hugging Face hub (``Prior-Labs/TabPFN-v2-clf``) on first use. The
strategy is unavailable, with the reason, when the ``tabpfn`` package is not installed or no
checkpoint is on this machine (``TABPFN_MODEL_PATH`` names one; otherwise tabpfn's cache and
the Hugging Face cache are searched). Within its limits only: at most 10,000 training rows,
500 features and 10 classes (the pre-training limits of TabPFN v2); beyond them ``fit`` raises
a ``DataError`` saying so. On CPU it is slow beyond a few thousand rows; a GPU is used when
torch sees one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from crossover.errors import DataError, ModelError
from crossover.strategies.registry import register
from crossover.strategies.tabular._base import TabularStrategy
from crossover.strategies.tabular.features import TablePreprocessor

__all__ = ["TabPfn", "find_checkpoint"]

MAX_ROWS = 10_000
MAX_FEATURES = 500
MAX_CLASSES = 10


def find_checkpoint() -> Path | None:
    """A TabPFN classifier checkpoint on this machine, or None."""
    named = os.environ.get("TABPFN_MODEL_PATH")
    if named:
        return Path(named) if Path(named).is_file() else None
    roots = [
        os.environ.get("TABPFN_MODEL_CACHE_DIR"),
        str(Path.home() / ".cache" / "tabpfn"),
        os.environ.get("HF_HUB_CACHE"),
        str(Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"),
    ]
    for root in filter(None, roots):
        base = Path(root)
        if not base.is_dir():
            continue
        for found in base.rglob("*.ckpt"):
            if "clf" in found.name or "classifier" in found.name:
                return found
    return None


@register
class TabPfn(TabularStrategy):
    """TabPFN v2 classifier, in-context on the training rows (see the module docstring)."""

    packages: ClassVar[tuple[str, ...]] = ("tabpfn", "torch")
    #: device="auto" runs on a GPU where there is one.
    wants_gpu: ClassVar[bool] = True

    key = "tabular.tabpfn"
    kind = "pretrained"
    summary = "TabPFN tabular foundation model, used as it is (in-context, no training)"
    # It reads the labelled rows as its context, so it gets them like a trained strategy.
    needs_labels = True

    def __init__(
        self,
        *,
        column_types: dict[str, str] | None = None,
        time_column: str | None = None,
        n_estimators: int = 4,
        device: str = "auto",
        random_state: int = 0,
    ) -> None:
        self.column_types = column_types
        self.time_column = time_column
        self.n_estimators = n_estimators
        self.device = device
        self.random_state = random_state

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import tabpfn  # noqa: F401
        except ImportError:
            return "the tabpfn package is not installed (pip install tabpfn)"
        if find_checkpoint() is None:
            return (
                "no TabPFN checkpoint on this machine and its weights download from the "
                "Hugging Face hub; download Prior-Labs/TabPFN-v2-clf once and set "
                "TABPFN_MODEL_PATH to the .ckpt file"
            )
        return None

    def _fit(self, X: pd.DataFrame, y: list[str] | None) -> None:
        assert y is not None
        reason = self.unavailable_reason()
        if reason is not None:
            raise ModelError(f"{self.key} is unavailable: {reason}")
        from tabpfn import TabPFNClassifier

        types = self._fit_table(X, y)
        if len(X) > MAX_ROWS or len(self.columns_) > MAX_FEATURES or len(set(y)) > MAX_CLASSES:
            raise DataError(
                f"{self.key}: {len(X)} rows, {len(self.columns_)} columns, {len(set(y))} "
                f"classes exceed TabPFN's limits ({MAX_ROWS} rows, {MAX_FEATURES} features, "
                f"{MAX_CLASSES} classes); use a smaller budget or the other strategies"
            )
        self.preprocessor_ = TablePreprocessor(types, "ordinal").fit(self._columns(X))
        features = self.preprocessor_.transform(self._columns(X))
        self.model_ = TabPFNClassifier(
            model_path=str(find_checkpoint()),
            n_estimators=self.n_estimators,
            device=self.device,
            random_state=self.random_state,
            categorical_features_indices=self.preprocessor_.categorical_indices_ or None,
        )
        order = {c: i for i, c in enumerate(self.classes_)}
        self.model_.fit(features, np.array([order[v] for v in y]))

    def _predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        features = self.preprocessor_.transform(self._columns(X))
        return np.asarray(self.model_.predict_proba(features))

    def _save_state(self, path: Path) -> None:
        raise ModelError(
            f"{self.key} cannot be exported: TabPFN keeps its training rows as context and its "
            "model state is not saved without pickle; export another strategy"
        )
