"""``crossover compare``'s task options, built from each task's ``TaskOptions`` class.

A task declares its options once (``tasks/<name>/options.py``); this module turns every
registered task's into typer options (one flag per name, the help of each task that takes it)
and turns the command line's values back into option values. Building them imports each task's
options module only, which imports no task.
"""

from __future__ import annotations

import inspect
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any, get_type_hints

import typer

__all__ = ["task_parameters", "task_values"]

#: Annotations typer can parse as they are; any other option is read as text.
_SIMPLE = {str, int, float, bool, str | None, int | None, float | None}


def _declared() -> dict[str, list[tuple[str, Field[Any], Any]]]:
    """Per option name: (task, field, type) for every task that takes it, in task order."""
    from crossover import tasks

    out: dict[str, list[tuple[str, Field[Any], Any]]] = {}
    for task in tasks.names():
        cls = tasks.options_class(task)
        hints = get_type_hints(cls)
        for f in fields(cls):
            out.setdefault(f.name, []).append((task, f, hints.get(f.name, Any)))
    return out


def _help(entries: list[tuple[str, Field[Any], Any]]) -> tuple[str, str]:
    """The help text (each task's, named, where the tasks that take it say different things)
    and the help panel: the tasks that take the option."""
    by_help: dict[str, list[str]] = {}
    for task, f, _ in entries:
        by_help.setdefault(f.metadata.get("help", ""), []).append(task)
    panel = "Options of " + ", ".join(task for task, _, _ in entries)
    if len(by_help) == 1:
        return next(iter(by_help)), panel
    return " ".join(f"{', '.join(names)}: {text}" for text, names in by_help.items()), panel


def task_parameters() -> list[inspect.Parameter]:
    """Every registered task's options, as keyword parameters with typer ``Option`` defaults."""
    params = []
    for name, entries in _declared().items():
        _, first, hint = entries[0]
        defaults = {repr(f.default) for _, f, _ in entries}
        default = first.default if len(defaults) == 1 and first.default is not MISSING else None
        path = bool(first.metadata.get("path"))
        columns = bool(first.metadata.get("columns"))
        annotation: Any
        if path:
            annotation = Path | None
        elif columns or hint not in _SIMPLE:
            annotation = str | None
        else:
            annotation = hint
        text, panel = _help(entries)
        option = typer.Option(
            default,
            "--" + name.replace("_", "-"),
            help=text,
            rich_help_panel=panel,
            readable=not path,  # a path's problems are crossover's errors, naming the file
        )
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation
            )
        )
    return params


def task_values(given: dict[str, Any]) -> dict[str, Any]:
    """The command line's task options as option values: comma-separated columns as lists;
    options left unset are left out (each task keeps its own default)."""
    declared = _declared()
    out = {}
    for name, value in given.items():
        if value is None:
            continue
        if declared[name][0][1].metadata.get("columns"):
            value = [c.strip() for c in str(value).split(",") if c.strip()] or None
            if value is None:
                continue
        out[name] = value
    return out
