"""How a task's study is shown: the report and the CLI ask the study's task, never its name.

A task that needs nothing beyond a classification leaderboard keeps the defaults. A task with
sections of its own names the module that draws them (``sections``); it is imported only when
a report or a CLI table is made, so that a task (and a model server) never loads it. That
module defines any of:

- ``measured_on(study) -> str``: where the CLI leaderboard's scores come from
  (default: "on N test rows (95 % CI)", or the mean over the splits);
- ``data_summary(study) -> list[tuple[str, str]]``: the report's data section
  (default: the rows and classes of a labelled table);
- ``ranking_rows(study) -> list[dict[str, str]]``: a table of the task's own metrics, one row
  per leaderboard strategy, for the report, ``summary.md`` and the CLI (default: none);
- ``ranking_note(study) -> str``: what that table's numbers are (the report);
- ``ranking_title(study) -> str``: that table's title (the CLI);
- ``gallery(study, strategy) -> dict | None``: the report's grid of ``strategy``'s
  misclassified test inputs as pictures (default: none; the image task's shows its images).
  Its dict holds ``strategy``, ``test_images``, ``misclassified``, ``order``, ``skipped``,
  ``kept_paths`` and ``images`` (each ``uri``, ``true``, ``predicted``, ``confidence``,
  ``name``); with one, the confusions table no longer quotes the test inputs as text;
- ``series_plots(study, strategy) -> list[dict]``: the report's plots of ``strategy``'s
  forecasts, one per series (default: none; the forecasting task's, worst series first), each
  with ``series``, ``mase``, the history ``x``/``y`` and ``windows`` (``x``, ``mean``, ``low``,
  ``high``);
- ``write_files(study, out) -> dict[str, Path]``: files of the task's own that ``compare``
  writes beside ``study.json`` (default: none; the forecasting task's ``forecasts.csv``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossover.study import Study

__all__ = ["Presentation"]


@dataclass(frozen=True)
class Presentation:
    """What the report, ``summary.md`` and the CLI need to know about a task's numbers.

    ``digits`` is how many decimals a score is shown with; ``budget_unit`` names what a
    learning-curve budget counts and ``budget_data`` what a trained strategy needs more of
    ("labels"); ``curves_heading`` is the report's heading over the learning curves;
    ``interval_note`` says what the leaderboard's intervals are on one test set; ``confusion``
    whether the report shows where the chosen strategy's predictions go wrong.
    """

    digits: int = 3
    budget_unit: str = "labels per class"
    budget_data: str = "labels"
    curves_heading: str = "How many labels each strategy needs"
    interval_note: str = "95 % bootstrap intervals on the test rows"
    confusion: bool = True
    #: Whether a trained strategy's data is bought as labels (the costs table's "labels to
    #: buy"); False where it is not (a forecaster learns from the series' own history).
    buys_labels: bool = True
    #: The report's heading over the task's own metrics table (``ranking_rows``).
    ranking_heading: str = "Ranking metrics and the cold-start slice"
    #: The module of this task's own sections (see the module's docstring), or None.
    sections: str | None = None

    def _hook(self, name: str) -> Any:
        if self.sections is None:
            return None
        return getattr(importlib.import_module(self.sections), name, None)

    def measured_on(self, study: Study) -> str | None:
        """Where the CLI leaderboard's scores come from; None: the default wording."""
        hook = self._hook("measured_on")
        return None if hook is None else str(hook(study))

    def data_summary(self, study: Study) -> list[tuple[str, str]] | None:
        """The report's data section as (name, value) rows; None: the default rows."""
        hook = self._hook("data_summary")
        return None if hook is None else list(hook(study))

    def ranking_rows(self, study: Study) -> list[dict[str, str]]:
        """The task's own metrics table, one row per leaderboard strategy (or none)."""
        hook = self._hook("ranking_rows")
        return [] if hook is None else list(hook(study))

    def ranking_note(self, study: Study) -> str:
        """What the numbers of :meth:`ranking_rows` are ("" without that table)."""
        hook = self._hook("ranking_note")
        return "" if hook is None else str(hook(study))

    def ranking_title(self, study: Study) -> str:
        """The CLI title of :meth:`ranking_rows`'s table."""
        hook = self._hook("ranking_title")
        return "" if hook is None else str(hook(study))

    def gallery(self, study: Study, strategy: str) -> dict[str, Any] | None:
        """The misclassified test inputs of ``strategy`` as pictures for the report; None for
        a task whose inputs are not pictures (or a strategy not on the leaderboard)."""
        hook = self._hook("gallery")
        if hook is None:
            return None
        shown = hook(study, strategy)
        return None if shown is None else dict(shown)

    def series_plots(self, study: Study, strategy: str) -> list[dict[str, Any]]:
        """Plots of ``strategy``'s forecasts per series for the report ([] for other tasks)."""
        hook = self._hook("series_plots")
        return [] if hook is None else [dict(p) for p in hook(study, strategy)]

    def write_files(self, study: Study, out: Path) -> dict[str, Path]:
        """Write the task's own output files into ``out``; their paths by name."""
        hook = self._hook("write_files")
        return {} if hook is None else dict(hook(study, out))
