"""``compare`` for ``recommendation``: read, check, split, run every trial, build the ``Study``.

The same machinery as the classification tasks: trials planned by budget and seed, kept in
the trial store (a rerun resumes), learning-curve trials in worker processes, and a ``Study``
whose intervals come from a bootstrap over the test users (each trial keeps every user's
value of every metric).
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

import pandas as pd

from crossover.errors import ConfigError, DataError
from crossover.evaluation.budgets import FULL, Budget, parse_budgets
from crossover.evaluation.environment import environment
from crossover.evaluation.progress import Reporter
from crossover.evaluation.runner import plan, run
from crossover.evaluation.store import TrialStore
from crossover.models._resolve import DEFAULT_MODEL
from crossover.strategies import registry
from crossover.study import Study
from crossover.tasks._base import Split
from crossover.tasks.recommendation.metrics import COLD_START_THRESHOLD, DEFAULT_K
from crossover.tasks.recommendation.task import (
    DEFAULT_HOLDOUT,
    TASK,
    TIME,
    Prepared,
    metric_names,
    prepare,
    trial_data,
)

__all__ = ["compare_recommendation", "read_and_prepare", "read_frame"]


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


def compare_recommendation(
    data: str | Path | pd.DataFrame,
    *,
    user: str | None,
    item: str | None,
    items: str | Path | pd.DataFrame | None = None,
    item_id: str | None = None,
    text_columns: list[str] | None = None,
    rating: str | None = None,
    min_rating: float | None = None,
    time: str | None = None,
    holdout: int = DEFAULT_HOLDOUT,
    k: int = DEFAULT_K,
    strategies: str | list[str] | None = None,
    model: str = DEFAULT_MODEL,
    seed: int = 0,
    use_cache: bool = True,
    n_resamples: int = 2000,
    budgets: str | list[Budget] | None = None,
    seeds: int = 3,
    jobs: int | None = None,
    target: float | None = None,
    trials_dir: str | Path | None = None,
    measure_speed: bool = True,
    progress: bool | Reporter = True,
    command: str | None = None,
) -> Study:
    """Measure every recommendation strategy on the same held-out interactions.

    ``data`` holds one row per interaction (``user``, ``item``, optional ``rating`` and
    ``time``); ``items`` one row per item (``item_id``, default the same name as ``item``,
    and text columns). See ``crossover.compare`` for the shared options.
    """
    from crossover.plan import parse_strategies, settle_options, strategy_params

    started = perf_counter()
    if not user or not item:
        raise ConfigError(
            "the recommendation task needs --user COLUMN and --item COLUMN (the interactions' "
            "user and item id columns)"
        )
    if k < 1:
        raise ConfigError(f"--k {k}: use 1 or more")
    if holdout < 1:
        raise ConfigError(f"--holdout {holdout}: hold out 1 or more interactions per user")
    n_jobs, reporter = settle_options(
        seeds=seeds, n_resamples=n_resamples, jobs=jobs, progress=progress
    )
    read_warnings: list[str] = []
    prepared = read_and_prepare(
        data,
        items,
        read_warnings,
        user=user,
        item=item,
        rating=rating,
        min_rating=min_rating,
        time=time,
        item_id=item_id,
        text_columns=text_columns,
        holdout=holdout,
        seed=seed,
    )
    for line in prepared.notes:
        reporter.message(line)
    for line in read_warnings + prepared.warnings:
        reporter.message(f"warning: {line}")
    keys = parse_strategies(strategies, TASK.name, has_text=prepared.items is not None)
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
    n_train = len(prepared.train)
    budget_list = parse_budgets(budgets if budgets is not None else TASK.default_budgets)
    dropped = [b for b in budget_list if b != FULL and int(b) >= n_train]
    budget_list = [b for b in budget_list if b == FULL or int(b) < n_train]
    if dropped:
        reporter.message(
            f"skipped budget(s) {dropped} interactions: the training split has only "
            f"{n_train:,} (the full budget covers it)"
        )
    split_id = f"recsys-{prepared.fingerprint}-{holdout}-{seed}"
    split = Split(prepared.train, prepared.test, split_id, prepared.notes[-1])
    cold = prepared.cold_items(COLD_START_THRESHOLD)
    rows = trial_data(prepared, k=k, seed=seed)
    n_cold_users = len(
        {u for u, i in zip(prepared.test["user"], prepared.test["item"], strict=True) if i in cold}
    )
    with tempfile.TemporaryDirectory(prefix="crossover-nocache-") as scratch:
        cache_dir = None if use_cache else scratch
        params = strategy_params(keys, model, cache_dir, None)
        for key in keys:
            names = registry.get(key)._param_names()
            if "text_columns" in names and prepared.items is not None:
                params[key]["text_columns"] = list(prepared.text_columns)
            if "time" in names and time is not None:
                params[key]["time"] = TIME
        trials, plan_summary = plan(
            keys, params, split, seed, label=None, budgets=budget_list, seeds=seeds
        )
        store = TrialStore(trials_dir) if trials_dir is not None and use_cache else None
        results = run(
            trials,
            {split_id: rows},
            TASK,
            reporter=reporter,
            measure_speed=measure_speed,
            store=store,
            jobs=n_jobs,
        )
    if not use_cache:
        for result in results:
            result.trial.params.pop("cache_dir", None)
    info = prepared.info
    source = str(data) if not isinstance(data, pd.DataFrame) else "DataFrame"
    study = Study(
        results=results,
        y_true=[str(u) for u in rows.y_true],
        task=TASK.name,
        headline=metric_names(k)["ndcg"],
        spec={
            "task": TASK.name,
            "user": user,
            "item": item,
            "item_id": item_id or item,
            "rating": rating,
            "min_rating": min_rating,
            "time": time,
            "text_columns": list(prepared.text_columns),
            "holdout": holdout,
            "k": k,
        },
        dataset={
            "source": source,
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
        split={
            "description": info.message(),
            "split_id": split_id,
            "split_ids": [split_id],
            "train_rows": info.n_train_rows,
            "test_rows": info.n_test_rows,
            "test_users": info.n_test_users,
            "train_only_users": info.n_train_only_users,
            "cold_threshold": COLD_START_THRESHOLD,
            "cold_items": len(cold),
            "cold_test_rows": int(prepared.test["item"].isin(cold).sum()),
            "cold_users": n_cold_users,
            "unit": "user",
        },
        environment=environment(),
        settings={
            "strategies": keys,
            "model": model,
            "seed": seed,
            "n_resamples": n_resamples,
            "use_cache": use_cache,
            "budgets": [str(b) for b in budget_list],
            "budget_unit": "training interactions",
            "seeds": seeds,
            "jobs": n_jobs,
            "target": target,
            "all_budgets": False,
            "plan": plan_summary,
            "command": command or shlex.join(sys.argv),
            "data_paths": _paths(data, items),
            "repeats": 1,
            "unavailable": registry.unavailable(TASK.name),
            "load": {
                "task": TASK.name,
                "user": user,
                "item": item,
                "item_id": item_id,
                "text_columns": text_columns,
                "rating": rating,
                "min_rating": min_rating,
                "time": time,
                "holdout": holdout,
            },
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    study.duration_s = round(perf_counter() - started, 2)
    return study


def _paths(data: Any, items: Any) -> dict[str, str]:
    out = {}
    for key, value in (("data", data), ("items", items)):
        if isinstance(value, str | Path) and Path(value).is_file():
            out[key] = str(Path(value).resolve())
    return out
