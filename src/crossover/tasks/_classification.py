"""Preparing a classification study (texts or a table): read, split, the rows trials see.

Shared by ``text-classification`` and ``tabular-classification``, whose ``Task.prepare`` it
is; the study pipeline (``crossover.compare``) runs the rest.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossover.data import Dataset
from crossover.evaluation.budgets import DOUBLING_RUNGS, FULL, Budget, span_budgets
from crossover.evaluation.execute import TrialData
from crossover.tasks._base import StudyInputs

if TYPE_CHECKING:
    from crossover.evaluation.progress import Reporter
    from crossover.plan import StudyPlan

__all__ = [
    "API_EMBEDDING_STRATEGIES",
    "LLM_STRATEGIES",
    "TABLE_LLM_STRATEGIES",
    "prepare",
]

#: The strategies ``--llm MODEL`` adds to a text study's defaults, and to a table study's.
LLM_STRATEGIES = ("text.llm-zero-shot", "text.llm-few-shot")
TABLE_LLM_STRATEGIES = ("tabular.llm-zero-shot",)
#: The strategies ``--embedding-api MODEL`` adds to a text study's defaults.
API_EMBEDDING_STRATEGIES = ("text.api-embeddings", "text.api-embedding-head")


def prepare(data: Any, options: StudyPlan, reporter: Reporter) -> StudyInputs:
    """Read (unless ``data`` is a ``Dataset``), split and lay out a classification study."""
    from crossover import tasks

    own = options.options
    dataset = (
        data if isinstance(data, Dataset) else tasks.load(data, task=options.task, **own.values())
    )
    for role, column in dataset.inferred.items():
        reporter.message(f"inferred --{role} {column}")
    spec = dataset.spec
    task = tasks.get(spec.task)
    is_table = spec.column_types is not None
    table_text = [c for c, k in (spec.column_types or {}).items() if k == "text"]
    splits = task.all_splits(dataset, options.seed, getattr(own, "repeats", None))
    split = splits[0]
    if len(splits) > 1:
        reporter.message(
            f"small table: the leaderboard is the mean over {len(splits)} stratified splits "
            "(--repeats), with intervals that carry the split-to-split spread"
        )
    inputs: str | list[str] = list(spec.inputs) if is_table else spec.inputs[0]
    # A table's options: the false-positive rate its metrics read, the cost of a review.
    table = {name: getattr(own, name) for name in ("fpr", "cost_fp") if hasattr(own, name)}
    metric_options = {"positive": spec.positive, "fpr": table.get("fpr")}
    trial_data = {
        sp.split_id: TrialData.from_split(
            sp,
            inputs,
            spec.target,
            spec.label_descriptions,
            options=metric_options,
            text_columns=table_text,
        )
        for sp in splits
    }
    return StudyInputs(
        splits=splits,
        trial_data=trial_data,
        headline=task.headline_for(dataset),
        spec=spec.to_dict(),
        dataset={**dataset.summary(), "inferred": dataset.inferred},
        split={
            "description": split.description
            + (f"; leaderboard over {len(splits)} such splits" if len(splits) > 1 else ""),
            "split_id": split.split_id,
            "split_ids": [sp.split_id for sp in splits],
            "train_rows": len(split.train),
            "test_rows": len(split.test),
        },
        y_true=split.test[spec.target].astype(str).tolist(),
        x_test=[] if is_table else split.test[spec.inputs[0]].astype(str).tolist(),
        label=spec.target,
        fit_default_budgets=partial(
            _fit_default_budgets, split.train[spec.target].value_counts().tolist()
        ),
        has_text=bool(table_text) or not is_table,
        llm_strategies=TABLE_LLM_STRATEGIES if is_table else LLM_STRATEGIES,
        embedding_api_strategies=() if is_table else API_EMBEDDING_STRATEGIES,
        column_types=spec.column_types,
        time_column=spec.time,
        settings={
            "data_paths": _data_paths(dataset),
            **table,
            "load": {"task": spec.task, **dataset.options},
        },
    )


def _fit_default_budgets(
    class_counts: list[int], budgets: list[Budget], reporter: Reporter
) -> list[Budget]:
    """The task's default budgets made to span the training split: ``span_budgets`` from
    their smallest count (learning curves are measured on the primary split)."""
    counts = [int(b) for b in budgets if b != FULL]
    if not counts:
        return budgets
    ladder = span_budgets(class_counts, min(counts))
    if ladder != budgets:
        largest = max(class_counts, default=0)
        rungs = [int(b) for b in ladder if b != FULL]
        thinned = ""
        if len(rungs) > DOUBLING_RUNGS:  # the wide rungs: say why the step grew
            top = rungs[DOUBLING_RUNGS - 1]
            thinned = (
                f"; doubling up to {top:,}, then x{rungs[DOUBLING_RUNGS] // top} steps, "
                "to keep the trial count down"
            )
        shown = ", ".join(f"{b:,}" if b != FULL else FULL for b in ladder)
        reporter.message(
            f"budgets {shown} per class: the largest class has {largest:,} training rows"
            f"{thinned} (--budgets chooses others)"
        )
    return ladder


def _data_paths(dataset: Dataset) -> dict[str, str]:
    """Absolute paths of the data files, so that ``export`` can train on them again."""
    out = {}
    for key, value in (("data", dataset.source), ("test", dataset.test_source)):
        if value and Path(str(value)).is_file():
            out[key] = str(Path(str(value)).resolve())
    return out
