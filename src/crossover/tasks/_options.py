"""A task's own options: a dataclass per task, declared once for Python, the CLI and the study.

Each task's package has an ``options`` module (standard library imports only, so that building
the CLI loads no task) with a frozen dataclass derived from ``TaskOptions``. Its fields are the
task's reading and study options; ``option`` gives each one the help text that
``crossover compare --help`` prints, and says how the command line spells it:
``columns=True`` for a comma-separated list of columns, ``path=True`` for a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["TaskOptions", "option"]


def option(default: Any, help: str, *, columns: bool = False, path: bool = False) -> Any:
    """A task option's field: its default, its help, and how the command line spells it."""
    return field(default=default, metadata={"help": help, "columns": columns, "path": path})


@dataclass(frozen=True)
class TaskOptions:
    """The options of a task without any (the base of every task's options)."""

    def check(self) -> TaskOptions:
        """Refuse impossible values, naming the option; returns ``self``."""
        return self

    def values(self) -> dict[str, Any]:
        """Every option by name, as given (data frames stay data frames)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_dict(self) -> dict[str, Any]:
        """The options that are plain values (paths as text; data frames are left out)."""
        out: dict[str, Any] = {}
        for name, value in self.values().items():
            if plain(value):
                out[name] = str(value) if isinstance(value, Path) else value
        return out

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each option's default."""
        return {f.name: f.default for f in fields(cls)}


def plain(value: Any) -> bool:
    """Whether ``value`` is a setting a JSON file can hold as it is."""
    if value is None or isinstance(value, str | int | float | bool | Path):
        return True
    if isinstance(value, list | tuple):
        return all(isinstance(v, str | int | float) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return False
