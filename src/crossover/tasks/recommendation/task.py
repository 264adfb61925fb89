"""The ``recommendation`` task: interactions in, ranked items out, measured per user.

The rows and the trial are in ``trial`` (the per-user split, the budgets of training
interactions, ranking and scoring); reading a study's files and fitting its options to the data
are in ``compare``. This module names them as the task the registry hands out.
"""

from __future__ import annotations

from typing import Any

from crossover.errors import DataError
from crossover.tasks._base import Presentation, Split, Task
from crossover.tasks.recommendation.compare import prepare_study
from crossover.tasks.recommendation.metrics import GLOSSARY
from crossover.tasks.recommendation.trial import (
    DEFAULT_BUDGETS,
    NAME,
    Prepared,
    metric_names,
    prepare,
    ranking_scores,
    run_ranking_trial,
    trial_data,
)

__all__ = [
    "DEFAULT_BUDGETS",
    "TASK",
    "Prepared",
    "metric_names",
    "prepare",
    "ranking_scores",
    "run_ranking_trial",
    "trial_data",
]


def _no_dataset_split(dataset: Any, seed: int) -> Split:
    raise DataError(
        "the recommendation task splits interactions per user; use "
        "crossover.tasks.recommendation.task.prepare (or `crossover compare --task "
        "recommendation`), not a labelled Dataset"
    )


TASK = Task(
    name=NAME,
    metrics={},
    headline=metric_names()["ndcg"],
    split=_no_dataset_split,
    test_size=0.0,
    default_budgets=DEFAULT_BUDGETS,
    run_trial=run_ranking_trial,
    prepare=prepare_study,
    present=Presentation(
        digits=4,
        budget_unit="training interactions",
        budget_data="interaction data",
        curves_heading="How much behaviour data each strategy needs",
        interval_note=(
            "95 % bootstrap intervals over the test users (each user's value resampled; the "
            "same resamples for every strategy, so differences are paired)"
        ),
        confusion=False,  # a confusion matrix of user ids says nothing
        sections="crossover.tasks.recommendation.present",
    ),
    glossary=GLOSSARY,
)
