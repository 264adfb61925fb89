"""The ``image-classification`` task: labelled images, a stratified holdout (or a fixed test
set), accuracy (headline) and macro-F1, learning curves in images per class."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossover.evaluation.metrics import LABEL_GLOSSARY, accuracy, macro_f1
from crossover.tasks._base import Presentation, StudyInputs, Task
from crossover.tasks._classification import prepare as prepare_classification
from crossover.tasks.image.read import TASK_NAME, read
from crossover.tasks.text.task import split

if TYPE_CHECKING:
    from crossover.evaluation.progress import Reporter
    from crossover.plan import StudyPlan

__all__ = ["TASK"]

TEST_SIZE = 0.2


def prepare(data: Any, plan: StudyPlan, reporter: Reporter) -> StudyInputs:
    """A classification study whose inputs are image paths; a folder's path is kept for
    ``export`` (which reads the images again), as a table's file is."""
    inputs = prepare_classification(data, plan, reporter)
    paths = inputs.settings.setdefault("data_paths", {})
    for key, value in (
        ("data", inputs.dataset.get("source")),
        ("test", inputs.dataset.get("test_source")),
    ):
        if value and Path(str(value)).is_dir():
            paths[key] = str(Path(str(value)).resolve())
    return inputs


TASK = Task(
    name=TASK_NAME,
    metrics={"accuracy": accuracy, "macro_f1": macro_f1},
    headline="accuracy",
    split=split,
    test_size=TEST_SIZE,
    read=read,
    prepare=prepare,
    default_budgets=(2, 4, 8, 16, 32, 64, "full"),
    glossary=LABEL_GLOSSARY,
    present=Presentation(
        budget_unit="images per class",
        budget_data="labelled images",
        curves_heading="How many labelled images each strategy needs",
        interval_note="95 % bootstrap intervals on the test images",
        sections="crossover.tasks.image.present",
    ),
)
