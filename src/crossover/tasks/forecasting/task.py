"""The ``forecasting`` task: series in, the next ``horizon`` steps out, scored by backtests.

Reading the series is in ``series``, the backtest and its metrics in ``backtest``, ``evaluate``
and ``metrics``, the trial in ``trial``, the study's input in ``compare``. This module names
them as the task the registry hands out.
"""

from __future__ import annotations

from typing import Any

from crossover.errors import DataError
from crossover.tasks._base import Presentation, Split, Task
from crossover.tasks.forecasting.compare import HEADLINE, LOWER_IS_BETTER, prepare_study
from crossover.tasks.forecasting.metrics import GLOSSARY
from crossover.tasks.forecasting.trial import DEFAULT_BUDGETS, NAME, run_forecast_trial

__all__ = ["TASK"]


def _no_dataset_split(dataset: Any, seed: int) -> Split:
    raise DataError(
        "the forecasting task backtests series on rolling windows; use `crossover compare "
        "--task forecasting` (or crossover.compare(..., task='forecasting')), not a labelled "
        "Dataset"
    )


TASK = Task(
    name=NAME,
    metrics={},
    headline=HEADLINE,
    split=_no_dataset_split,
    test_size=0.0,
    default_budgets=DEFAULT_BUDGETS,
    lower_is_better=LOWER_IS_BETTER,
    run_trial=run_forecast_trial,
    prepare=prepare_study,
    present=Presentation(
        digits=3,
        budget_unit="points of history per series",
        budget_data="points of history",
        curves_heading="How much history each strategy needs",
        interval_note=(
            "95 % bootstrap intervals over the series (each series' value resampled; the same "
            "resamples for every strategy, so differences are paired)"
        ),
        confusion=False,
        buys_labels=False,
        ranking_heading="Forecast accuracy, every metric",
        sections="crossover.tasks.forecasting.present",
    ),
    glossary=GLOSSARY,
)
