"""Preparing a classification study (texts or a table): read, split, the rows trials see.

Shared by ``text-classification`` and ``tabular-classification``, whose ``Task.prepare`` it
is; the study pipeline (``crossover.compare``) runs the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossover.data import Dataset
from crossover.errors import ConfigError
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
    "read_options",
]

#: The strategies ``--llm MODEL`` adds to a text study's defaults, and to a table study's.
LLM_STRATEGIES = ("text.llm-zero-shot", "text.llm-few-shot")
TABLE_LLM_STRATEGIES = ("tabular.llm-zero-shot",)
#: The strategies ``--embedding-api MODEL`` adds to a text study's defaults.
API_EMBEDDING_STRATEGIES = ("text.api-embeddings", "text.api-embedding-head")

#: The study options the classification readers take.
_READ_OPTIONS = (
    "text",
    "label",
    "test",
    "label_descriptions",
    "strict",
    "categorical",
    "text_columns",
    "drop",
    "time",
    "positive",
    "amount",
)


def read_options(options: StudyPlan) -> dict[str, Any]:
    """The reader's keyword arguments among a study's options."""
    return {name: getattr(options, name) for name in _READ_OPTIONS}


def prepare(data: Any, options: StudyPlan, reporter: Reporter) -> StudyInputs:
    """Read (unless ``data`` is a ``Dataset``), split and lay out a classification study."""
    from crossover import tasks

    dataset = (
        data
        if isinstance(data, Dataset)
        else tasks.load(data, task=options.task, **read_options(options))
    )
    for role, column in dataset.inferred.items():
        reporter.message(f"inferred --{role} {column}")
    spec = dataset.spec
    if options.cost_fp is not None and spec.amount is None:
        raise ConfigError("--cost-fp needs --amount COLUMN: the money a missed positive loses")
    task = tasks.get(spec.task)
    is_table = spec.column_types is not None
    table_text = [c for c, k in (spec.column_types or {}).items() if k == "text"]
    splits = task.all_splits(dataset, options.seed, options.repeats)
    split = splits[0]
    if len(splits) > 1:
        reporter.message(
            f"small table: the leaderboard is the mean over {len(splits)} stratified splits "
            "(--repeats), with intervals that carry the split-to-split spread"
        )
    inputs: str | list[str] = list(spec.inputs) if is_table else spec.inputs[0]
    metric_options = {"positive": spec.positive, "fpr": options.fpr}
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
        has_text=bool(table_text) or not is_table,
        llm_strategies=TABLE_LLM_STRATEGIES if is_table else LLM_STRATEGIES,
        embedding_api_strategies=() if is_table else API_EMBEDDING_STRATEGIES,
        column_types=spec.column_types,
        time_column=spec.time,
        settings={
            "data_paths": _data_paths(dataset),
            "fpr": options.fpr,
            "cost_fp": options.cost_fp,
            "load": {"task": spec.task, **dataset.options},
        },
    )


def _data_paths(dataset: Dataset) -> dict[str, str]:
    """Absolute paths of the data files, so that ``export`` can train on them again."""
    out = {}
    for key, value in (("data", dataset.source), ("test", dataset.test_source)):
        if value and Path(str(value)).is_file():
            out[key] = str(Path(str(value)).resolve())
    return out
