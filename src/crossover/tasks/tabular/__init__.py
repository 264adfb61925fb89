"""Building blocks of the ``tabular-classification`` task: column types, checks, metrics, splits.

Each is a pure function of a DataFrame or arrays; the task module and the CLI wire them together.
"""

from __future__ import annotations

from crossover.tasks.tabular.checks import check_table, resolve_positive, unusable_columns
from crossover.tasks.tabular.columns import KINDS, ColumnTypes, Kind, infer_column_types
from crossover.tasks.tabular.metrics import (
    ThresholdResult,
    best_threshold,
    brier,
    loss_at_threshold,
    pr_auc,
    recall_at_fpr,
    roc_auc,
)
from crossover.tasks.tabular.splits import default_repeats, repeated_stratified_splits, time_split

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
