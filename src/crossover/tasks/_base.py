"""What a task provides to a study."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossover.data import Dataset
from crossover.tasks._present import Presentation

__all__ = ["Metric", "Presentation", "ScoreMetrics", "Split", "Task"]

Metric = Callable[[np.ndarray, np.ndarray], float]
#: (true labels, probabilities (n, k) in the order of ``classes``, classes, options) ->
#: metric name -> value; ``options`` holds the study's settings such as ``positive``, ``fpr``.
ScoreMetrics = Callable[[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]], dict[str, float]]


@dataclass(frozen=True)
class Split:
    """Training and test rows; ``split_id`` identifies them (it keys cached trials)."""

    train: pd.DataFrame
    test: pd.DataFrame
    split_id: str
    description: str


@dataclass(frozen=True)
class Task:
    """A task: how to split its data, which metrics to compute, the headline metric.

    ``metrics`` score predicted labels; ``score_metrics``, when set, scores class
    probabilities too (ROC-AUC, PR-AUC), and every strategy of the task must give them.
    ``splits`` gives the splits a leaderboard is measured on (several for a small table); the
    first is the primary one, which also holds the learning curves and latency.
    ``lower_is_better`` names metrics where a smaller value wins (the Brier score).
    """

    name: str
    metrics: dict[str, Metric]
    headline: str
    split: Callable[[Dataset, int], Split]
    test_size: float
    score_metrics: ScoreMetrics | None = None
    splits: Callable[[Dataset, int, int | None], list[Split]] | None = None
    default_budgets: tuple[int | str, ...] | None = None
    lower_is_better: frozenset[str] = field(default_factory=frozenset)
    #: A task that is not "fit on labelled rows, predict the test rows" (recommendation: rank
    #: items for users) runs each trial with this function instead of the runner's own:
    #: ``(trial, data, task, measure_speed=..., encode_s_per_text=...) -> TrialResult``.
    run_trial: Callable[..., Any] | None = None
    #: How the report and the CLI show this task's study (decimals, budget unit, sections).
    present: Presentation = field(default_factory=Presentation)

    @property
    def needs_proba(self) -> bool:
        return self.score_metrics is not None

    def headline_for(self, dataset: Dataset) -> str:
        """The headline metric for this data set (the task's, unless it depends on the data)."""
        return self.headline

    def all_splits(self, dataset: Dataset, seed: int, repeats: int | None = None) -> list[Split]:
        """The leaderboard's splits, the primary one first."""
        if self.splits is None:
            return [self.split(dataset, seed)]
        return self.splits(dataset, seed, repeats)

    def evaluate(
        self,
        y_true: np.ndarray,
        predictions: np.ndarray,
        proba: np.ndarray | None,
        classes: np.ndarray,
        options: dict[str, Any],
    ) -> dict[str, float]:
        """Every metric of the task on one set of test rows."""
        out = {name: float(fn(y_true, predictions)) for name, fn in self.metrics.items()}
        if self.score_metrics is not None and proba is not None:
            out.update(self.score_metrics(y_true, proba, classes, options))
        return out
