"""What a task provides to a study."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossover.data import Dataset

__all__ = ["Metric", "Split", "Task"]

Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Split:
    """Training and test rows; ``split_id`` identifies them (it keys cached trials)."""

    train: pd.DataFrame
    test: pd.DataFrame
    split_id: str
    description: str


@dataclass(frozen=True)
class Task:
    """A task: how to split its data, which metrics to compute, the headline metric."""

    name: str
    metrics: dict[str, Metric]
    headline: str
    split: Callable[[Dataset, int], Split]
    test_size: float
