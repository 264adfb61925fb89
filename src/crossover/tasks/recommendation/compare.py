"""A recommendation study's input: read and check the interactions and items, split, lay out.

``prepare_study`` is the task's ``prepare``; the study pipeline (``crossover.compare``) runs
the rest as for every task: trials planned by budget and seed, kept in the trial store (a
rerun resumes), learning-curve trials in worker processes, and a ``Study`` whose intervals
come from a bootstrap over the test users (each trial keeps every user's value of every
metric).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crossover.data import Dataset
from crossover.errors import ConfigError, DataError
from crossover.evaluation.budgets import FULL, Budget
from crossover.strategies import registry
from crossover.tasks._base import Split, StudyInputs
from crossover.tasks.recommendation.metrics import COLD_START_THRESHOLD
from crossover.tasks.recommendation.trial import (
    NAME,
    TIME,
    Prepared,
    metric_names,
    prepare,
    trial_data,
)

if TYPE_CHECKING:
    from crossover.evaluation.progress import Reporter
    from crossover.plan import StudyPlan
    from crossover.tasks.recommendation.options import RecommendationOptions

__all__ = ["prepare_study", "read_and_prepare", "read_frame"]


def read_frame(data: str | Path | pd.DataFrame, what: str, warnings: list[str]) -> pd.DataFrame:
    """A DataFrame as it is, or a file read with pandas' types (ids, ratings, times)."""
    if isinstance(data, pd.DataFrame):
        return data
    from crossover.data._read import read_table

    frame = read_table(data, warnings, typed=True)
    if frame.empty:
        raise DataError(f"{data}: the {what} file has a header but no row")
    return frame


def read_and_prepare(
    data: str | Path | pd.DataFrame,
    items: str | Path | pd.DataFrame | None,
    warnings: list[str],
    **options: Any,
) -> Prepared:
    """The interactions and items files (or frames) read and prepared with ``options`` (the
    keyword arguments of ``prepare``); reading's warnings are appended to ``warnings``."""
    interactions = read_frame(data, "interactions", warnings)
    items_frame = read_frame(items, "items", warnings) if items is not None else None
    return prepare(interactions, items=items_frame, **options)


def prepare_study(data: Any, options: StudyPlan, reporter: Reporter) -> StudyInputs:
    """The recommendation task's ``prepare``: read the interactions (``data``) and the items
    file (``options.items``), hold out each test user's last interactions, lay out the trial.

    ``data`` holds one row per interaction (``user``, ``item``, optional ``rating`` and
    ``time``); ``items`` one row per item (``item_id``, default the same name as ``item``,
    and text columns).
    """
    own: RecommendationOptions = options.options.check()
    user, item, items, time = own.user, own.item, own.items, own.time
    if isinstance(data, Dataset):
        raise ConfigError(
            "the recommendation task reads its interactions itself: pass the file or DataFrame"
        )
    read_warnings: list[str] = []
    prepared = read_and_prepare(
        data,
        items,
        read_warnings,
        user=user,
        item=item,
        rating=own.rating,
        min_rating=own.min_rating,
        time=time,
        item_id=own.item_id,
        text_columns=own.text_columns or None,
        holdout=own.holdout,
        seed=options.seed,
    )
    for line in prepared.notes:
        reporter.message(line)
    for line in read_warnings + prepared.warnings:
        reporter.message(f"warning: {line}")
    split_id = f"recsys-{prepared.fingerprint}-{own.holdout}-{options.seed}"
    split = Split(prepared.train, prepared.test, split_id, prepared.notes[-1])
    rows = trial_data(prepared, k=own.k, seed=options.seed)
    info = prepared.info
    return StudyInputs(
        splits=[split],
        trial_data={split_id: rows},
        headline=metric_names(own.k)["ndcg"],
        spec={
            "task": NAME,
            "user": user,
            "item": item,
            "item_id": own.item_id or item,
            "rating": own.rating,
            "min_rating": own.min_rating,
            "time": time,
            "text_columns": list(prepared.text_columns),
            "holdout": own.holdout,
            "k": own.k,
        },
        dataset={
            "source": str(data) if not isinstance(data, pd.DataFrame) else "DataFrame",
            "items_source": None
            if items is None or isinstance(items, pd.DataFrame)
            else str(items),
            "rows": prepared.n_interactions,
            "interactions": prepared.n_interactions,
            "users": info.n_users,
            "items": len(rows.options["catalogue"]),
            "items_with_text": len(rows.corpus),
            "fingerprint": prepared.fingerprint,
            "warnings": read_warnings + prepared.warnings,
            "notes": prepared.notes,
        },
        split=_split_record(prepared, split_id),
        y_true=[str(u) for u in rows.y_true],
        label=None,
        has_text=prepared.items is not None,
        settings={
            "data_paths": _paths(data, items),
            "load": {
                "task": NAME,
                "user": user,
                "item": item,
                "item_id": own.item_id,
                "text_columns": own.text_columns or None,
                "rating": own.rating,
                "min_rating": own.min_rating,
                "time": time,
                "holdout": own.holdout,
            },
        },
        limit_budgets=partial(_limit_budgets, len(prepared.train)),
        adjust=partial(_adjust, prepared, reporter, time),
    )


def _split_record(prepared: Prepared, split_id: str) -> dict[str, Any]:
    """The study's record of the per-user split, with its cold-start slice."""
    info = prepared.info
    cold = prepared.cold_items(COLD_START_THRESHOLD)
    test = prepared.test
    cold_users = {u for u, i in zip(test["user"], test["item"], strict=True) if i in cold}
    return {
        "description": info.message(),
        "split_id": split_id,
        "split_ids": [split_id],
        "train_rows": info.n_train_rows,
        "test_rows": info.n_test_rows,
        "test_users": info.n_test_users,
        "train_only_users": info.n_train_only_users,
        "cold_threshold": COLD_START_THRESHOLD,
        "cold_items": len(cold),
        "cold_test_rows": int(test["item"].isin(cold).sum()),
        "cold_users": len(cold_users),
        "unit": "user",
    }


def _limit_budgets(n_train: int, budgets: list[Budget], reporter: Reporter) -> list[Budget]:
    """Budgets count training interactions: those the training split cannot fill are dropped."""
    dropped = [b for b in budgets if b != FULL and int(b) >= n_train]
    if dropped:
        reporter.message(
            f"skipped budget(s) {dropped} interactions: the training split has only "
            f"{n_train:,} (the full budget covers it)"
        )
    return [b for b in budgets if b == FULL or int(b) < n_train]


def _adjust(
    prepared: Prepared,
    reporter: Reporter,
    time: str | None,
    keys: list[str],
    params: dict[str, dict[str, Any]],
) -> None:
    """Refuse strategies that read item texts when there are none; give the others the item
    text columns and the time column."""
    if prepared.items is None:
        needing = [k for k in keys if getattr(registry.get(k), "needs_text_column", False)]
        if needing:
            raise ConfigError(
                f"{', '.join(needing)} rank items by their text and need --items FILE (an item "
                "id and text columns such as title, description, category)"
            )
        reporter.message(
            "no --items file: recsys.content-embeddings and recsys.hybrid, which read item "
            "texts, are not compared"
        )
    for key in keys:
        names = registry.get(key)._param_names()
        if "text_columns" in names and prepared.items is not None:
            params[key]["text_columns"] = list(prepared.text_columns)
        if "time" in names and time is not None:
            params[key]["time"] = TIME


def _paths(data: Any, items: Any) -> dict[str, str]:
    out = {}
    for key, value in (("data", data), ("items", items)):
        if isinstance(value, str | Path) and Path(value).is_file():
            out[key] = str(Path(value).resolve())
    return out
