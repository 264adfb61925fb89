"""Building blocks of the ``recommendation`` task: the split, the metrics, the checks, the example.

Each is a pure function of DataFrames or mappings; the task module and the CLI wire them together.
"""

from __future__ import annotations

import importlib
from typing import Any

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

#: Each public name's module, imported on first use (PEP 562): the package's ``options``
#: module is read to build the CLI, which must not load pandas.
_SOURCES = {
    "COLD_START_THRESHOLD": "crossover.tasks.recommendation.metrics",
    "DEFAULT_K": "crossover.tasks.recommendation.metrics",
    "HoldoutInfo": "crossover.tasks.recommendation.splits",
    "UserScores": "crossover.tasks.recommendation.metrics",
    "catalogue_coverage": "crossover.tasks.recommendation.metrics",
    "check_interactions": "crossover.tasks.recommendation.checks",
    "cold_start_items": "crossover.tasks.recommendation.metrics",
    "cold_start_relevant": "crossover.tasks.recommendation.metrics",
    "collapse_duplicates": "crossover.tasks.recommendation.checks",
    "holdout_last": "crossover.tasks.recommendation.splits",
    "implicit_positives": "crossover.tasks.recommendation.checks",
    "load_movielens": "crossover.tasks.recommendation.data",
    "map_at_k": "crossover.tasks.recommendation.metrics",
    "ndcg_at_k": "crossover.tasks.recommendation.metrics",
    "recall_at_k": "crossover.tasks.recommendation.metrics",
    "relevant_items": "crossover.tasks.recommendation.metrics",
}


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        return getattr(importlib.import_module(_SOURCES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
