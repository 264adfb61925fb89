"""What a task provides to a study."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crossover.data import Dataset
from crossover.tasks._present import Presentation

if TYPE_CHECKING:
    from crossover.evaluation.progress import Reporter
    from crossover.plan import StudyPlan
    from crossover.study import Study

__all__ = ["Metric", "Presentation", "ScoreMetrics", "Split", "StudyInputs", "Task"]

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


@dataclass
class StudyInputs:
    """A task's data made ready for the study pipeline (``crossover.compare``): its splits,
    the rows each split's trials see, and what the ``Study`` records about them.

    ``trial_data`` maps each split id to its ``TrialData`` (the primary split first);
    ``label`` is the column budgets are counted per class in (None: budgets count training
    rows, as for interactions). The optional hooks let a task check or complete the plan:
    ``fit_default_budgets(budgets, reporter)`` replaces the task's default budgets, when the
    study names none, with budgets fitted to the data (a classification's ladder up to its
    largest class), ``limit_budgets(budgets, reporter)`` drops budgets it cannot run,
    ``adjust(keys, params)`` checks the chosen strategies and completes their parameters,
    ``finish(study)`` adds what only this task computes (a table's money thresholds).
    """

    splits: list[Split]
    trial_data: dict[str, Any]
    headline: str
    spec: dict[str, Any]
    dataset: dict[str, Any]
    split: dict[str, Any]
    y_true: list[str]
    x_test: list[str] = field(default_factory=list)
    label: str | None = None
    #: Whether the data has text for the strategies that read it (the default candidates).
    has_text: bool = True
    #: Strategies ``--llm`` and ``--embedding-api`` add to the default candidates.
    llm_strategies: tuple[str, ...] = ()
    embedding_api_strategies: tuple[str, ...] = ()
    #: Passed to ``crossover.plan.strategy_params``.
    column_types: dict[str, str] | None = None
    time_column: str | None = None
    #: Seeds per learning-curve budget when the task's trials draw nothing at random (a
    #: forecasting backtest of the last N points): it overrides ``--seeds``. None: ``--seeds``.
    seeds: int | None = None
    #: Settings of the study that only this task has (merged into ``Study.settings``).
    settings: dict[str, Any] = field(default_factory=dict)
    fit_default_budgets: Callable[[list[Any], Reporter], list[Any]] | None = None
    limit_budgets: Callable[[list[Any], Reporter], list[Any]] | None = None
    adjust: Callable[[list[str], dict[str, dict[str, Any]]], None] | None = None
    finish: Callable[[Study], None] | None = None


#: ``(data, options, reporter) -> StudyInputs``: read, check and split a task's data.
Prepare = Callable[[Any, "StudyPlan", "Reporter"], StudyInputs]


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
    #: ``read(data, **options) -> Dataset``: read and check the task's data (``crossover.load``).
    read: Callable[..., Dataset] | None = None
    #: Read, check and split the data for a study (see ``StudyInputs``).
    prepare: Prepare | None = None
    #: How the report and the CLI show this task's study (decimals, budget unit, sections).
    present: Presentation = field(default_factory=Presentation)
    #: What each of its metrics means (the report's glossary and ``study.json``'s).
    glossary: dict[str, str] = field(default_factory=dict)

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
