"""A task from outside crossover, as a third party would write one: the ``keyword-classification``
task (short texts, labels that are words), its options, and two strategies.

It is registered through entry points only (``tests/tasks/test_plugin_task.py`` writes the
distribution metadata), to show that a new task is its own package: nothing in ``crossover``
names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossover.errors import DataError
from crossover.evaluation.execute import TrialData
from crossover.evaluation.metrics import accuracy, macro_f1
from crossover.strategies.base import Strategy
from crossover.tasks import Split, StudyInputs, Task, TaskOptions, option

NAME = "keyword-classification"


@dataclass(frozen=True)
class KeywordOptions(TaskOptions):
    """The text and label columns, and the shortest text kept."""

    text: str | None = option(None, "Text column.")
    label: str | None = option(None, "Label column.")
    min_words: int = option(1, "Drop texts of fewer words than this.")


def _no_dataset_split(dataset: Any, seed: int) -> Split:
    raise DataError("the keyword task splits in its prepare")


def prepare(data: Any, plan: Any, reporter: Any) -> StudyInputs:
    """Read, drop the short texts, hold out a stratified quarter."""
    from sklearn.model_selection import train_test_split

    own: KeywordOptions = plan.options
    if not own.text or not own.label:
        raise DataError("the keyword task needs --text and --label")
    frame = data if isinstance(data, pd.DataFrame) else pd.read_csv(Path(data))
    frame = frame[[own.text, own.label]].astype(str)
    short = frame[own.text].str.split().str.len() < own.min_words
    reporter.message(f"dropped {int(short.sum())} texts of fewer than {own.min_words} words")
    frame = frame[~short].reset_index(drop=True)
    train, test = train_test_split(
        frame, test_size=0.25, random_state=plan.seed, stratify=frame[own.label]
    )
    split_id = f"keyword-{plan.seed}-{own.min_words}-{len(frame)}"
    split = Split(
        train.reset_index(drop=True), test.reset_index(drop=True), split_id, "25 % holdout"
    )
    return StudyInputs(
        splits=[split],
        trial_data={split_id: TrialData.from_split(split, own.text, own.label, None)},
        headline="accuracy",
        spec={"task": NAME, "inputs": [own.text], "target": own.label},
        dataset={"rows": len(frame), "dropped_short": int(short.sum())},
        split={
            "description": split.description,
            "split_id": split_id,
            "split_ids": [split_id],
            "train_rows": len(split.train),
            "test_rows": len(split.test),
        },
        y_true=split.test[own.label].tolist(),
        x_test=split.test[own.text].tolist(),
        label=own.label,
    )


TASK = Task(
    name=NAME,
    metrics={"accuracy": accuracy, "macro_f1": macro_f1},
    headline="accuracy",
    split=_no_dataset_split,
    test_size=0.25,
    default_budgets=(2, 4, "full"),
    prepare=prepare,
)


class Majority(Strategy):
    """The most frequent training label, for every text."""

    key = "keyword.majority"
    kind = "custom"
    task = NAME
    summary = "the most frequent label"

    def _fit(self, X: Any, y: list[str] | None) -> None:
        values, counts = np.unique(np.asarray(y, dtype=object), return_counts=True)
        self.label_ = values[int(np.argmax(counts))]

    def _predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.label_, dtype=object)


class LabelWord(Strategy):
    """The first label whose name is a word of the text (else the first label): no training."""

    key = "keyword.label-word"
    kind = "pretrained"
    task = NAME
    summary = "the label named in the text"
    needs_labels = False

    def _fit(self, X: Any, y: list[str] | None) -> None:
        self.fitted_ = True

    def _predict(self, X: Any) -> np.ndarray:
        labels = [str(c) for c in self.classes_]
        out = []
        for text in X:
            words = set(str(text).lower().split())
            out.append(next((c for c in labels if c.lower() in words), labels[0]))
        return np.asarray(out, dtype=object)


#: The strategies' entry point loads this module; it registers both.
def register() -> None:
    from crossover.strategies.registry import registry

    for cls in (Majority, LabelWord):
        registry.register(cls)


register()
