"""Tasks: per task, the spec checks, splits, metrics and default candidates."""

from __future__ import annotations

from crossover.errors import ConfigError
from crossover.tasks import tabular_classification, text_classification
from crossover.tasks._base import Split, Task
from crossover.tasks.recommendation import task as recommendation

__all__ = ["TASKS", "Split", "Task", "get"]

TASKS: dict[str, Task] = {
    task.name: task
    for task in (text_classification.TASK, tabular_classification.TASK, recommendation.TASK)
}


def get(name: str) -> Task:
    """The task called ``name``; a ``ConfigError`` lists the known ones otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None
