"""The ``image-classification`` task's options (read by ``crossover compare`` and the reader)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossover.tasks._options import TaskOptions, option

__all__ = ["ImageOptions"]


@dataclass(frozen=True)
class ImageOptions(TaskOptions):
    """A folder of class folders, or a table's image-path and label columns; a fixed test set;
    the labels' descriptions for the zero-shot strategy."""

    image: str | None = option(
        None, "Image-path column of a table (inferred if omitted; not for a folder)."
    )
    label: str | None = option(None, "Label column of a table (inferred if omitted).")
    test: Any = option(None, "A fixed test set: a folder of class folders, or a table.", path=True)
    label_descriptions: Any = option(
        None, "YAML or JSON file: label -> what its images show (for image.zero-shot).", path=True
    )
    strict: bool = option(
        False, "Refuse non-image files and rows without an image or label instead of skipping."
    )
