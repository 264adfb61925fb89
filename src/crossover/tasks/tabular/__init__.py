"""Building blocks of the ``tabular-classification`` task: column types, checks, metrics, splits.

Each is a pure function of a DataFrame or arrays; the task module and the CLI wire them together.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "KINDS",
    "ColumnTypes",
    "Kind",
    "ThresholdResult",
    "best_threshold",
    "brier",
    "check_table",
    "default_repeats",
    "infer_column_types",
    "loss_at_threshold",
    "pr_auc",
    "recall_at_fpr",
    "repeated_stratified_splits",
    "resolve_positive",
    "roc_auc",
    "time_split",
    "unusable_columns",
]

#: Each public name's module, imported on first use (PEP 562): the package's ``options``
#: module is read to build the CLI, which must not load pandas.
_SOURCES = {
    "ColumnTypes": "crossover.tasks.tabular.columns",
    "KINDS": "crossover.tasks.tabular.columns",
    "Kind": "crossover.tasks.tabular.columns",
    "ThresholdResult": "crossover.tasks.tabular.metrics",
    "best_threshold": "crossover.tasks.tabular.metrics",
    "brier": "crossover.tasks.tabular.metrics",
    "check_table": "crossover.tasks.tabular.checks",
    "default_repeats": "crossover.tasks.tabular.splits",
    "infer_column_types": "crossover.tasks.tabular.columns",
    "loss_at_threshold": "crossover.tasks.tabular.metrics",
    "pr_auc": "crossover.tasks.tabular.metrics",
    "recall_at_fpr": "crossover.tasks.tabular.metrics",
    "repeated_stratified_splits": "crossover.tasks.tabular.splits",
    "resolve_positive": "crossover.tasks.tabular.checks",
    "roc_auc": "crossover.tasks.tabular.metrics",
    "time_split": "crossover.tasks.tabular.splits",
    "unusable_columns": "crossover.tasks.tabular.checks",
}


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        return getattr(importlib.import_module(_SOURCES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
