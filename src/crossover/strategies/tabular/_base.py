"""The base of ``tabular-classification`` strategies: a table in, class probabilities out.

``column_types`` (column -> numeric, categorical, text or datetime) comes from the data set's
``TaskSpec``; without it the kinds are inferred from the training rows. The columns seen in
``fit`` are the model's inputs: ``predict`` needs every one of them (a ``DataError`` names the
missing ones) and ignores any other column.

Learned state is saved without pickle: scikit-learn objects through skops, LightGBM boosters
as LightGBM's own text model format, the rest as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from crossover.errors import DataError, ModelError
from crossover.models.sklearn_io import load_sklearn, save_sklearn
from crossover.strategies._threads import lgbm_threads
from crossover.strategies.base import Strategy
from crossover.strategies.tabular.blend import BlendClassifier
from crossover.strategies.tabular.features import TablePreprocessor
from crossover.strategies.tabular.learners import (
    ForestClassifier,
    GbmClassifier,
    LinearClassifier,
)
from crossover.tasks.tabular.columns import ColumnTypes, infer_column_types

__all__ = [
    "TabularStrategy",
    "leaf_count",
    "lgbm_threads",
    "load_blend",
    "load_gbm",
    "load_preprocessor",
    "min_leaf_rows",
    "save_blend",
    "save_gbm",
    "save_preprocessor",
]

_LABEL = "__crossover_label__"
_M = TypeVar("_M", LinearClassifier, ForestClassifier)


class TabularStrategy(Strategy):
    """Holds the column kinds and the input columns; subclasses build ``estimator_``."""

    input_kind = "table"
    task = "tabular-classification"
    has_proba = True
    packages: ClassVar[tuple[str, ...]] = ("pandas", "scikit-learn", "skops")

    column_types: dict[str, str] | None
    #: The time column the study splits on (``--time``), when it is also a datetime input:
    #: its calendar parts are features, its absolute time is not.
    time_column: str | None = None
    columns_: list[str]
    column_types_: dict[str, str]

    def _types(self, frame: pd.DataFrame, y: list[str]) -> ColumnTypes:
        if self.column_types:
            kinds = {c: k for c, k in self.column_types.items() if c in frame.columns}
            time = self.time_column if self.time_column in kinds else None
            return ColumnTypes(label=_LABEL, kinds=kinds, time=time)  # type: ignore[arg-type]
        return infer_column_types(frame.assign(**{_LABEL: y}), _LABEL)

    def _columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise DataError(
                f"{self.key}: the rows lack column(s) {', '.join(map(repr, missing))}, which "
                "the model was trained on; send every input column (a value may be empty)"
            )
        return frame[self.columns_]

    def _predict(self, X: pd.DataFrame) -> np.ndarray:
        proba = self._predict_proba(X)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)], dtype=object)

    def input_schema(self) -> dict[str, str]:
        """The input columns and their kinds, in the order the model reads them."""
        self._check_fitted()
        return {c: self.column_types_.get(c, "numeric") for c in self.columns_}

    def _fit_table(self, X: pd.DataFrame, y: list[str]) -> ColumnTypes:
        """Record the input columns; return their kinds (the ones a model may use)."""
        types = self._types(X, y)
        self.columns_ = list(types.features)
        if not self.columns_:
            raise DataError(f"{self.key}: no feature column to train on")
        self.column_types_ = {c: str(types.kinds[c]) for c in self.columns_}
        return types

    def _write_meta(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        meta = {"columns": self.columns_, "column_types": self.column_types_, **(extra or {})}
        (path / "table.json").write_text(json.dumps(meta, indent=2))

    def _read_meta(self, path: Path) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = json.loads((path / "table.json").read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"{path}: no readable table.json; the model folder is incomplete"
            ) from exc
        self.columns_ = list(meta["columns"])
        self.column_types_ = dict(meta["column_types"])
        return meta


# -- persistence of the estimators (no pickle) ------------------------------------------------


def save_preprocessor(pre: TablePreprocessor, path: Path, name: str) -> dict[str, Any]:
    """Save the fitted transformer with skops; return the JSON-able rest of its state."""
    save_sklearn(pre.transformer_, path / f"{name}.skops")
    return {
        "kinds": dict(pre.types.kinds),
        "time": pre.types.time,
        "encoding": pre.encoding,
        "scale": pre.scale,
        "quantile": bool(getattr(pre, "quantile", False)),
        "feature_names_out": pre.feature_names_out_,
        "categorical_indices": pre.categorical_indices_,
    }


def load_preprocessor(path: Path, name: str, state: dict[str, Any]) -> TablePreprocessor:
    types = ColumnTypes(label=_LABEL, kinds=dict(state["kinds"]), time=state.get("time"))
    pre = TablePreprocessor(
        types, state["encoding"], scale=bool(state["scale"]), quantile=bool(state["quantile"])
    )
    pre.transformer_ = load_sklearn(path / f"{name}.skops")
    pre.feature_names_out_ = list(state["feature_names_out"])
    pre.categorical_indices_ = list(state["categorical_indices"])
    return pre


class _Booster:
    """A LightGBM booster read from its text format, answering ``predict_proba`` like
    ``LGBMClassifier`` (two columns for a binary model)."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict_proba(self, x: Any, num_iteration: int | None = None) -> np.ndarray:
        p = np.asarray(self.booster.predict(x, num_iteration=num_iteration))
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p


def min_leaf_rows(n_rows: int) -> int:
    """LightGBM's ``min_child_samples`` for a training set of ``n_rows``: its default of 20,
    but smaller for learning-curve budgets (with 16 rows per class the default makes no split
    at all, and the model scores at chance)."""
    return max(2, min(20, n_rows // 20))


def leaf_count(model: GbmClassifier) -> int:
    """Leaves of the trees in use: each holds one learned value."""
    booster = model.model_.booster if isinstance(model.model_, _Booster) else model.model_.booster_
    dump = booster.dump_model(num_iteration=model.best_iteration_)
    return int(sum(t["num_leaves"] for t in dump["tree_info"]))


def save_gbm(model: GbmClassifier, path: Path, name: str) -> dict[str, Any]:
    """Save a fitted ``GbmClassifier``: preprocessor (skops) and booster (LightGBM text)."""
    booster = model.model_.booster if isinstance(model.model_, _Booster) else model.model_.booster_
    (path / f"{name}.lgbm.txt").write_text(booster.model_to_string())
    return {
        "preprocessor": save_preprocessor(model.preprocessor_, path, f"{name}.preprocessor"),
        "classes": [str(c) for c in model.classes_],
        "best_iteration": int(model.best_iteration_),
    }


def load_gbm(path: Path, name: str, state: dict[str, Any]) -> GbmClassifier:
    import lightgbm

    model_file = path / f"{name}.lgbm.txt"
    if not model_file.is_file():
        raise ModelError(f"{model_file}: missing; the model folder is incomplete")
    model = GbmClassifier()
    model.preprocessor_ = load_preprocessor(path, f"{name}.preprocessor", state["preprocessor"])
    model.classes_ = np.array(state["classes"], dtype=object)
    model.best_iteration_ = int(state["best_iteration"])
    try:
        booster = lightgbm.Booster(model_str=model_file.read_text())
    except lightgbm.basic.LightGBMError as exc:
        raise ModelError(f"{model_file}: not a readable LightGBM model ({exc})") from exc
    model.model_ = _Booster(booster)  # type: ignore[assignment]
    return model


def save_linear(
    model: LinearClassifier | ForestClassifier, path: Path, name: str
) -> dict[str, Any]:
    """Save a fitted ``LinearClassifier`` or ``ForestClassifier``: preprocessor and model, both
    scikit-learn objects, as skops files."""
    save_sklearn(model.model_, path / f"{name}.skops")
    return {
        "preprocessor": save_preprocessor(model.preprocessor_, path, f"{name}.preprocessor"),
        "classes": [str(c) for c in model.classes_],
    }


def load_linear(path: Path, name: str, state: dict[str, Any]) -> LinearClassifier:
    model = LinearClassifier(quantile=bool(state["preprocessor"]["quantile"]))
    return _load_sklearn_member(model, path, name, state)


def load_forest(path: Path, name: str, state: dict[str, Any]) -> ForestClassifier:
    return _load_sklearn_member(ForestClassifier(), path, name, state)


def _load_sklearn_member(model: _M, path: Path, name: str, state: dict[str, Any]) -> _M:
    """Read what ``save_linear`` wrote into an unfitted ``LinearClassifier`` or
    ``ForestClassifier``."""
    model.preprocessor_ = load_preprocessor(path, f"{name}.preprocessor", state["preprocessor"])
    model.classes_ = np.array(state["classes"], dtype=object)
    model.model_ = load_sklearn(path / f"{name}.skops")
    return model


_SAVERS = {"linear": save_linear, "trees": save_linear, "gbm": save_gbm}
_LOADERS = {"linear": load_linear, "trees": load_forest, "gbm": load_gbm}


def save_blend(model: BlendClassifier, path: Path, name: str) -> dict[str, Any]:
    """Save each member of a fitted ``BlendClassifier`` in its own safe format."""
    members = list(model.members)
    return {
        "members": members,
        "weights": [float(w) for w in model.weights_],
        "classes": [str(c) for c in model.classes_],
        "states": [
            _SAVERS[m](est, path, f"{name}.{i}.{m}")  # type: ignore[operator]
            for i, (m, est) in enumerate(zip(members, model.estimators_, strict=True))
        ],
    }


def load_blend(path: Path, name: str, state: dict[str, Any]) -> BlendClassifier:
    members = list(state["members"])
    model = BlendClassifier(members=members)
    model.classes_ = np.array(state["classes"], dtype=object)
    model.weights_ = np.asarray(state["weights"], dtype=float)
    model.estimators_ = [
        _LOADERS[m](path, f"{name}.{i}.{m}", s)
        for i, (m, s) in enumerate(zip(members, state["states"], strict=True))
    ]
    return model
