"""How a task's study is shown: the report and the CLI ask the study's task, never its name.

A task that needs nothing beyond a classification leaderboard keeps the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Presentation"]


@dataclass(frozen=True)
class Presentation:
    """What the report, ``summary.md`` and the CLI need to know about a task's numbers.

    ``digits`` is how many decimals a score is shown with; ``budget_unit`` names what a
    learning-curve budget counts.
    """

    digits: int = 3
    budget_unit: str = "labels per class"
