"""Building blocks of the ``recommendation`` task: the split, the metrics, the checks, the example.

Each is a pure function of DataFrames or mappings; the task module and the CLI wire them together.
"""

from __future__ import annotations

from crossover.tasks.recommendation.checks import (
    check_interactions,
    collapse_duplicates,
    implicit_positives,
)
from crossover.tasks.recommendation.data import load_movielens
from crossover.tasks.recommendation.metrics import (
    COLD_START_THRESHOLD,
    DEFAULT_K,
    UserScores,
    catalogue_coverage,
    cold_start_items,
    cold_start_relevant,
    map_at_k,
    ndcg_at_k,
    recall_at_k,
    relevant_items,
)
from crossover.tasks.recommendation.splits import HoldoutInfo, holdout_last

__all__ = [
    "COLD_START_THRESHOLD",
    "DEFAULT_K",
    "HoldoutInfo",
    "UserScores",
    "catalogue_coverage",
    "check_interactions",
    "cold_start_items",
    "cold_start_relevant",
    "collapse_duplicates",
    "holdout_last",
    "implicit_positives",
    "load_movielens",
    "map_at_k",
    "ndcg_at_k",
    "recall_at_k",
    "relevant_items",
]
