"""The ``tabular-classification`` task: time or repeated stratified splits, ranking metrics.

Headline: PR-AUC (average precision) of the positive class for a binary label, the metric that
means something when positives are rare; accuracy for a multi-class label. Every metric:

- ``pr_auc``, ``roc_auc``: binary on the positive class; one-vs-rest macro averages otherwise;
- ``recall_at_fpr``: binary only, the recall at a false-positive rate of at most ``fpr``
  (``--fpr``, default 0.01);
- ``brier``: mean squared error of the probabilities (lower is better);
- ``accuracy``, ``macro_f1``: on the most probable class.

Splits: a fixed test set when given; else with a time column (``--time``) the oldest 80 % of
rows train and the most recent 20 % test; else stratified 80/20 splits, repeated 5 times for a
small table (``default_repeats``) so that the intervals carry the split-to-split spread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from crossover.data import Dataset
from crossover.evaluation.metrics import LABEL_GLOSSARY, accuracy, macro_f1
from crossover.tasks._base import Split, StudyInputs, Task
from crossover.tasks._classification import prepare as prepare_classification
from crossover.tasks.tabular import (
    brier,
    default_repeats,
    pr_auc,
    recall_at_fpr,
    repeated_stratified_splits,
    roc_auc,
    time_split,
)
from crossover.tasks.tabular.metrics import SCORE_GLOSSARY, decision_threshold
from crossover.tasks.tabular.read import TASK_NAME, read

if TYPE_CHECKING:
    from collections.abc import Callable

    from crossover.evaluation.progress import Reporter
    from crossover.plan import StudyPlan
    from crossover.study import Study

__all__ = ["DEFAULT_FPR", "TASK", "score_metrics", "splits"]

TEST_SIZE = 0.2
DEFAULT_FPR = 0.01


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def splits(dataset: Dataset, seed: int, repeats: int | None = None) -> list[Split]:
    """The leaderboard's splits: fixed test set, time split, or repeated stratified splits."""
    frame, spec = dataset.frame, dataset.spec
    if dataset.test is not None:
        description = f"fixed test set {dataset.test_source} ({len(dataset.test)} rows)"
        split_id = _digest(f"fixed-{dataset.fingerprint}")
        return [Split(frame, dataset.test.reset_index(drop=True), split_id, description)]
    if spec.time is not None:
        train, test = time_split(frame, spec.time, TEST_SIZE, label=spec.target)
        description = (
            f"time split on {spec.time!r}: the oldest {len(train)} rows train, the most "
            f"recent {len(test)} ({TEST_SIZE:.0%}) test"
        )
        split_id = _digest(f"time-{dataset.fingerprint}-{spec.time}")
        return [
            Split(
                frame.iloc[train].reset_index(drop=True),
                frame.iloc[test].reset_index(drop=True),
                split_id,
                description,
            )
        ]
    labels = frame[spec.target]
    if repeats is None:
        repeats = default_repeats(len(frame), n_minority=int(labels.value_counts().min()))
    out = []
    pairs = repeated_stratified_splits(labels.to_numpy(), repeats, TEST_SIZE, seed)
    for i, (train, test) in enumerate(pairs):
        description = (
            f"stratified holdout of {len(test)} rows ({TEST_SIZE:.0%}), seed {seed}, "
            f"split {i + 1} of {repeats}"
        )
        out.append(
            Split(
                frame.iloc[train].reset_index(drop=True),
                frame.iloc[test].reset_index(drop=True),
                _digest(f"stratified-{dataset.fingerprint}-{seed}-{repeats}-{i}"),
                description,
            )
        )
    return out


def split(dataset: Dataset, seed: int) -> Split:
    """The primary split (the first of ``splits``)."""
    return splits(dataset, seed)[0]


def score_metrics(
    y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray, options: dict[str, Any]
) -> dict[str, float]:
    """PR-AUC, ROC-AUC, Brier score and (binary) recall at ``options["fpr"]``."""
    classes = np.asarray(classes, dtype=object)
    proba = np.asarray(proba, dtype=float)
    y_true = np.asarray(y_true, dtype=object)
    if len(classes) == 2:
        positive = options.get("positive")
        column = int(np.flatnonzero(classes == positive)[0]) if positive in classes else 1
        y = (y_true == classes[column]).astype(int)
        score = proba[:, column]
        if y.min() == y.max():
            return {}
        return {
            "pr_auc": pr_auc(y, score),
            "roc_auc": roc_auc(y, score),
            "recall_at_fpr": recall_at_fpr(y, score, float(options.get("fpr", DEFAULT_FPR))),
            "brier": brier(y, score),
        }
    index = {c: i for i, c in enumerate(classes)}
    known = np.array([v in index for v in y_true])
    codes = np.array([index[v] for v in y_true[known]])
    p = proba[known]
    if len(set(codes.tolist())) < 2:
        return {}
    return {
        "pr_auc": pr_auc(codes, p),
        "roc_auc": roc_auc(codes, p),
        "brier": brier(codes, p),
    }


def prepare(data: Any, options: StudyPlan, reporter: Reporter) -> StudyInputs:
    """A classification study of a table (read, split, the rows trials see); with a money
    column and a review cost, the study ends by adding each strategy's threshold."""
    inputs = prepare_classification(data, options, reporter)
    return replace(inputs, finish=_thresholds_hook(inputs, options))


def _thresholds_hook(inputs: StudyInputs, options: StudyPlan) -> Callable[[Study], None] | None:
    """With a money column and a review cost: a hook adding each strategy's threshold."""
    cost_fp, amount = options.options.cost_fp, inputs.spec.get("amount")
    if amount is None or cost_fp is None or inputs.spec.get("positive") is None:
        return None
    amounts = inputs.splits[0].test[amount].to_numpy()

    def finish(study: Study) -> None:
        study.thresholds = _thresholds(study, amounts, cost_fp, options.seed)

    return finish


def _thresholds(study: Study, amounts: Any, cost_fp: float, seed: int) -> dict[str, Any]:
    """Per leaderboard strategy: the expected-loss threshold and the money it saves."""
    positive = study.spec.get("positive")
    y = (np.asarray(study.y_true, dtype=object) == positive).astype(int)
    out = {}
    for r in study.leaderboard_results:
        if r.proba is None or not r.classes or positive not in r.classes:
            continue
        score = np.asarray(r.proba)[:, r.classes.index(positive)]
        out[r.trial.strategy] = decision_threshold(y, score, amounts, cost_fp, seed)
    return out


@dataclass(frozen=True)
class TabularTask(Task):
    """The task, with a headline that depends on the label: PR-AUC when binary."""

    def headline_for(self, dataset: Dataset) -> str:
        return "pr_auc" if dataset.spec.positive is not None else "accuracy"


TASK = TabularTask(
    name=TASK_NAME,
    metrics={"accuracy": accuracy, "macro_f1": macro_f1},
    headline="pr_auc",
    split=split,
    test_size=TEST_SIZE,
    score_metrics=score_metrics,
    splits=splits,
    default_budgets=(8, 16, 32, 64, 128, 256, "full"),
    lower_is_better=frozenset({"brier"}),
    read=read,
    prepare=prepare,
    glossary={**LABEL_GLOSSARY, **SCORE_GLOSSARY},
)
