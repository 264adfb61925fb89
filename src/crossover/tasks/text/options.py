"""The ``text-classification`` task's options (read by ``crossover compare`` and the reader)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossover.tasks._options import TaskOptions, option

__all__ = ["TextOptions"]


@dataclass(frozen=True)
class TextOptions(TaskOptions):
    """Which columns hold the text and the label, a fixed test set, the labels' descriptions."""

    text: str | None = option(None, "Text column (inferred if omitted).")
    label: str | None = option(None, "Label column (inferred if omitted).")
    test: Any = option(None, "A fixed test set (same columns).", path=True)
    label_descriptions: Any = option(None, "YAML or JSON file: label -> description.", path=True)
    strict: bool = option(False, "Fail on rows with empty texts instead of dropping them.")
