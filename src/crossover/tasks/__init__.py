"""Tasks by name: per task, the spec checks, splits, metrics and default candidates.

The built-in tasks and those of third parties (the ``crossover.tasks`` entry-point group, each
naming its ``Task`` object as ``module:attribute``) are imported on first use, so that naming
the tasks — the CLI's ``--task`` choices — loads none of them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from crossover.errors import ConfigError

if TYPE_CHECKING:
    from crossover.data import Dataset
    from crossover.tasks._base import Presentation, Split, StudyInputs, Task
    from crossover.tasks._options import TaskOptions, option

__all__ = [
    "DEFAULT",
    "ENTRY_POINT_GROUP",
    "OPTIONS_GROUP",
    "Presentation",
    "Split",
    "StudyInputs",
    "Task",
    "TaskOptions",
    "get",
    "load",
    "names",
    "option",
    "options_class",
]

ENTRY_POINT_GROUP = "crossover.tasks"
#: The built-in tasks: name -> ``module:attribute`` of its ``Task``.
_BUILTIN = {
    "text-classification": "crossover.tasks.text.task:TASK",
    "tabular-classification": "crossover.tasks.tabular.task:TASK",
    "recommendation": "crossover.tasks.recommendation.task:TASK",
    "image-classification": "crossover.tasks.image.task:TASK",
    "forecasting": "crossover.tasks.forecasting.task:TASK",
}
#: The built-in tasks' options: name -> ``module:attribute`` of its ``TaskOptions`` class, in a
#: module that imports no task (the CLI reads them to build ``compare``'s options).
_BUILTIN_OPTIONS = {
    "text-classification": "crossover.tasks.text.options:TextOptions",
    "tabular-classification": "crossover.tasks.tabular.options:TableOptions",
    "recommendation": "crossover.tasks.recommendation.options:RecommendationOptions",
    "image-classification": "crossover.tasks.image.options:ImageOptions",
    "forecasting": "crossover.tasks.forecasting.options:ForecastOptions",
}
#: A plugin task names its options class in this group, under the task's name (optional).
OPTIONS_GROUP = "crossover.task_options"
_loaded: dict[str, Task] = {}
#: The task a study or ``load`` assumes when none is named.
DEFAULT = "text-classification"


def _sources() -> dict[str, str]:
    sources = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _BUILTIN:
            raise ConfigError(
                f"task plugin {ep.value} is registered as {ep.name!r}, a built-in task; "
                "give it another name"
            )
        sources[ep.name] = ep.value
    return sources


def names() -> list[str]:
    """Every task's name, the built-in ones first; nothing is imported."""
    return list(_sources())


def get(name: str) -> Task:
    """The task called ``name``; a ``ConfigError`` lists the known ones otherwise."""
    task = _loaded.get(name)
    if task is not None:
        return task
    sources = _sources()
    if name not in sources:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sources)}")
    module, _, attribute = sources[name].partition(":")
    from crossover.tasks._base import Task

    try:
        found = getattr(importlib.import_module(module), attribute or "TASK")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"task {name!r} ({sources[name]}) failed to import: {exc}") from exc
    if not isinstance(found, Task) or found.name != name:
        raise ConfigError(f"{sources[name]} is not the Task called {name!r}")
    _loaded[name] = found
    return found


def options_class(name: str) -> type[TaskOptions]:
    """The class of ``name``'s own options (``TaskOptions`` itself for a task without any);
    imports no task."""
    from crossover.tasks._options import TaskOptions

    if name not in _sources():
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(names())}")
    source = _BUILTIN_OPTIONS.get(name)
    if source is None:
        found = [ep.value for ep in entry_points(group=OPTIONS_GROUP) if ep.name == name]
        if not found:
            return TaskOptions
        source = found[0]
    module, _, attribute = source.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"the options of task {name!r} ({source}) failed to import: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, TaskOptions)):
        raise ConfigError(f"{source} is not a TaskOptions class (crossover.tasks._options)")
    return cls


def load(data: Any, *, task: str = DEFAULT, **options: Any) -> Dataset:
    """Read and validate ``data`` (a file or a DataFrame) as ``task``'s reader does.

    ``options`` are the reader's (``text``, ``label``, ``test``, ``label_descriptions``,
    ``strict`` for texts; ``label``, ``categorical``, ``text_columns``, ``drop``, ``time``,
    ``positive``, ``amount`` for tables); a reader ignores the options of other tasks. A
    ``DataError`` names the file, the column or the value, and what to do.
    """
    reader = get(task).read
    if reader is None:
        raise ConfigError(
            f"the {task} task reads its data inside a study only; use crossover.compare"
        )
    return reader(data, **options)


def __getattr__(name: str) -> Any:
    # What a task's package is written with (imported on first use)
    if name in ("Presentation", "Split", "StudyInputs", "Task"):
        from crossover.tasks import _base

        return getattr(_base, name)
    if name in ("TaskOptions", "option"):
        from crossover.tasks import _options

        return getattr(_options, name)
    if name == "TASKS":  # every task by name, each imported now
        return {n: get(n) for n in names()}
    raise AttributeError(f"module 'crossover.tasks' has no attribute {name!r}")
