"""The ``recommendation`` task's rows and trial: interactions in, ranked items out, per user.

``prepare`` turns an interactions frame (and an items frame) into the study's rows: the checks
(warnings, or a ``DataError`` naming the column), ratings above a threshold as positives,
duplicates collapsed, ids as text, and the per-user split (each user's most recent ``holdout``
interactions held out). ``run_ranking_trial`` is the task's trial: fit a strategy on the
trial's budget of training interactions, rank the top ``k`` for every test user from their
whole training history, and score the lists (recall, NDCG, MAP at ``k``, catalogue coverage,
and the cold-start slice), keeping each user's value so the study can bootstrap the users.

The label budget of a learning curve is a number of training interactions, drawn at random
(seeded): a model trained on a sample is still asked about each test user's whole history
(``recommend_histories``), so the curve shows what more logged behaviour buys, not what a
shorter query costs. A pretrained strategy (content embeddings) learns nothing from the
interactions and is one flat line.
"""

from __future__ import annotations

import hashlib
import json
import time as clock
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crossover.data import check_flat, one_spelling
from crossover.errors import DataError
from crossover.evaluation.budgets import FULL
from crossover.evaluation.memory import PeakMemory
from crossover.evaluation.trials import Trial, TrialResult
from crossover.tasks._base import Task
from crossover.tasks.recommendation.checks import (
    check_interactions,
    collapse_duplicates,
    implicit_positives,
    item_text_columns,
)
from crossover.tasks.recommendation.metrics import (
    COLD_START_THRESHOLD,
    DEFAULT_K,
    catalogue_coverage,
    cold_start_items,
    cold_start_relevant,
    map_at_k,
    ndcg_at_k,
    recall_at_k,
    relevant_items,
)
from crossover.tasks.recommendation.splits import HoldoutInfo, holdout_last
from crossover.tasks.recommendation.texts import item_texts as _item_texts

if TYPE_CHECKING:
    # The runner imports the task registry: imported here lazily, or the import is circular.
    from crossover.evaluation.execute import TrialData

__all__ = [
    "DEFAULT_BUDGETS",
    "NAME",
    "Prepared",
    "metric_names",
    "prepare",
    "ranking_scores",
    "run_ranking_trial",
    "trial_data",
]

#: The task's name in the registry and in a study.
NAME = "recommendation"
USER, ITEM, TIME = "user", "item", "time"
#: Training interactions per learning-curve point (those at or above the split's are dropped).
DEFAULT_BUDGETS: tuple[int | str, ...] = (300, 1000, 3000, 10000, 30000, FULL)
DEFAULT_HOLDOUT = 5
DEFAULT_MIN_RATING = 4.0
_LATENCY_USERS = 200


def metric_names(k: int = DEFAULT_K) -> dict[str, str]:
    """The metric keys of a study at ``k``: ``ndcg`` -> ``"ndcg_at_10"`` and so on."""
    return {
        "ndcg": f"ndcg_at_{k}",
        "recall": f"recall_at_{k}",
        "map": f"map_at_{k}",
        "coverage": f"coverage_at_{k}",
        "cold_ndcg": f"cold_ndcg_at_{k}",
        "cold_recall": f"cold_recall_at_{k}",
        "cold_map": f"cold_map_at_{k}",
    }


@dataclass(frozen=True)
class Prepared:
    """The rows of a recommendation study, with canonical columns ``user``, ``item`` (ids as
    text) and ``time`` (when given); ``items`` has ``item`` and the text columns."""

    train: pd.DataFrame
    test: pd.DataFrame
    items: pd.DataFrame | None
    text_columns: tuple[str, ...]
    info: HoldoutInfo
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_interactions: int = 0
    fingerprint: str = ""

    @property
    def catalogue(self) -> list[str]:
        """Every item id: those of the interactions, then the items file's others."""
        seen = pd.unique(pd.concat([self.train[ITEM], self.test[ITEM]]))
        out = list(seen)
        if self.items is not None:
            known = set(out)
            out += [i for i in self.items[ITEM].tolist() if i not in known]
        return out

    def cold_items(self, threshold: int = COLD_START_THRESHOLD) -> set[Any]:
        return cold_start_items(self.train, self.test, ITEM, threshold)


def prepare(
    interactions: pd.DataFrame,
    *,
    user: str,
    item: str,
    rating: str | None = None,
    min_rating: float | None = None,
    time: str | None = None,
    items: pd.DataFrame | None = None,
    item_id: str | None = None,
    text_columns: list[str] | None = None,
    holdout: int = DEFAULT_HOLDOUT,
    seed: int = 0,
) -> Prepared:
    """Check, keep the positives, collapse duplicates, and split (module docstring).

    ``min_rating`` is the positive threshold when ``rating`` is given (default 4, the usual cut
    of a 1-5 scale). Raises ``DataError`` naming the column or value when the data cannot be
    used.
    """
    id_column = item_id or item
    if items is not None and id_column not in items.columns:
        raise DataError(
            f"the items file has no item id column {id_column!r}; its columns are: "
            f"{', '.join(map(repr, items.columns))}; name it with --item-id"
        )
    used = [c for c in (user, item, rating, time) if c is not None]
    check_flat(interactions, used, "the interactions")
    id_warnings: list[str] = []
    interactions = interactions.copy()
    for column in dict.fromkeys((user, item)):
        if column in interactions.columns:
            ids, lines = one_spelling(
                interactions[column], f"id(s) of column {column!r}", "the interactions"
            )
            interactions[column] = ids
            id_warnings += lines
    if items is not None:
        texts = item_text_columns(items, id_column, text_columns)
        check_flat(items, [id_column, *texts], "the items file", ", or name --text-columns")
        items = items.copy()
        items[id_column], lines = one_spelling(
            items[id_column], f"id(s) of column {id_column!r}", "the items file"
        )
        id_warnings += lines
    warnings = id_warnings + check_interactions(
        interactions,
        user,
        item,
        rating=rating,
        time=time,
        items=items,
        item_id=id_column,
        text_columns=tuple(text_columns or ()),
    )
    notes: list[str] = []
    frame = interactions
    if rating is not None:
        threshold = DEFAULT_MIN_RATING if min_rating is None else float(min_rating)
        frame, message = implicit_positives(frame, rating, threshold)
        notes.append(message)
    frame = collapse_duplicates(frame, user, item, time=time)
    columns = {user: USER, item: ITEM} | ({time: TIME} if time is not None else {})
    frame = frame[list(columns)].rename(columns=columns).reset_index(drop=True)
    frame[USER] = frame[USER].astype(str)
    frame[ITEM] = frame[ITEM].astype(str)
    train, test, info = holdout_last(frame, USER, ITEM, time=TIME if time else None, n_test=holdout)
    notes.append(info.message())
    items_frame = None
    chosen: tuple[str, ...] = ()
    if items is not None:
        chosen = tuple(item_text_columns(items, id_column, text_columns))
        _item_texts(items, id_column, list(chosen))  # raises when a column is absent or none
        items_frame = items[[id_column, *chosen]].rename(columns={id_column: ITEM}).copy()
        items_frame[ITEM] = items_frame[ITEM].astype(str)
        items_frame = items_frame.drop_duplicates(ITEM).reset_index(drop=True)
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    if items_frame is not None:
        digest.update(pd.util.hash_pandas_object(items_frame, index=False).to_numpy().tobytes())
    return Prepared(
        train=train.reset_index(drop=True),
        test=test.reset_index(drop=True),
        items=items_frame,
        text_columns=chosen,
        info=info,
        warnings=warnings,
        notes=notes,
        n_interactions=len(frame),
        fingerprint=digest.hexdigest()[:16],
    )


def trial_data(prepared: Prepared, *, k: int = DEFAULT_K, seed: int = 0) -> TrialData:
    """The rows every trial sees: training and test interactions, the items and their texts."""
    from crossover.evaluation.execute import TrialData

    relevant = relevant_items(prepared.test, USER, ITEM)
    corpus: tuple[str, ...] = ()
    if prepared.items is not None:
        texts = _item_texts(prepared.items, ITEM, list(prepared.text_columns))
        corpus = tuple(t for t in texts.tolist() if t)
    return TrialData(
        train_x=prepared.train,
        train_y=[],
        test_x=prepared.test,
        y_true=np.array(list(relevant), dtype=object),
        label_descriptions=None,
        options={
            "k": k,
            "cold_threshold": COLD_START_THRESHOLD,
            "catalogue": prepared.catalogue,
            "seed": seed,
            "items": prepared.items,
        },
        corpus=corpus,
    )


def ranking_scores(
    lists: dict[str, list[str]],
    relevant: dict[Any, set[Any]],
    cold: set[Any],
    catalogue: list[str],
    k: int,
) -> tuple[dict[str, float], dict[str, list[float | None]]]:
    """The metrics of one strategy's lists, and each test user's value (users of
    ``relevant``, in its order; None outside the cold-start slice)."""
    names = metric_names(k)
    users = list(relevant)
    metrics: dict[str, float] = {}
    units: dict[str, list[float | None]] = {}
    relevant_cold = cold_start_relevant(relevant, cold)
    for short, fn in (("ndcg", ndcg_at_k), ("recall", recall_at_k), ("map", map_at_k)):
        overall = fn(lists, relevant, k)
        metrics[names[short]] = float(overall.mean)
        units[names[short]] = [float(v) for v in overall.per_user]
        if relevant_cold:
            sliced = fn(lists, relevant_cold, k)
            by_user = dict(zip(sliced.users, sliced.per_user, strict=True))
            metrics[names["cold_" + short]] = float(sliced.mean)
            units[names["cold_" + short]] = [
                float(by_user[u]) if u in by_user else None for u in users
            ]
    metrics[names["coverage"]] = float(catalogue_coverage(lists, catalogue, k))
    return metrics, units


def _budget_rows(train: pd.DataFrame, budget: int | str, seed: int) -> pd.DataFrame:
    if budget in (0, FULL) or int(budget) >= len(train):
        return train
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(train), size=int(budget), replace=False))
    return train.iloc[rows].reset_index(drop=True)


def run_ranking_trial(
    trial: Trial,
    data: TrialData,
    task: Task,
    *,
    measure_speed: bool = True,
    encode_s_per_text: dict[str, float] | None = None,
) -> TrialResult:
    """Fit on the trial's budget of training interactions, rank for every test user, measure."""
    from crossover.evaluation.execute import (
        NOT_MEASURED,
        build_strategy,
        measured_result,
        speed_and_size,
    )

    strategy: Any = build_strategy(trial)
    k = int(data.options.get("k", DEFAULT_K))
    strategy.k = k
    train = data.train_x
    assert isinstance(train, pd.DataFrame) and isinstance(data.test_x, pd.DataFrame)
    rows = _budget_rows(train, trial.budget, trial.seed)
    users = [str(u) for u in data.y_true]
    histories = train.groupby(USER, sort=False)[ITEM].agg(list)
    query = {u: histories.get(u, []) for u in users}
    with PeakMemory() as memory:
        t0 = clock.perf_counter()
        strategy.fit(rows, items=data.options["items"])
        fit_wall_s = clock.perf_counter() - t0
        t0 = clock.perf_counter()
        lists = strategy.recommend_histories(query, k=k)
        predict_s = clock.perf_counter() - t0
    relevant = relevant_items(data.test_x, USER, ITEM)
    cold = cold_start_items(train, data.test_x, ITEM, int(data.options.get("cold_threshold", 5)))
    catalogue = list(data.options.get("catalogue") or strategy.catalogue)
    metrics, units = ranking_scores(lists, relevant, cold, catalogue, k)
    # One call = one known user's top k, the serving path of POST /v1/recommend.
    speed = speed_and_size(strategy, users[:_LATENCY_USERS]) if measure_speed else NOT_MEASURED
    model = strategy.embedding_model()
    # The cache let fit skip embedding the catalogue; charge it back at the uncached rate.
    encode_train_s = 0.0
    if model is not None and encode_s_per_text:
        encode_train_s = len(data.corpus) * encode_s_per_text.get(model, 0.0)
    return measured_result(
        trial,
        strategy,
        metrics=metrics,
        predictions=[json.dumps(lists[u]) for u in users],
        n_train=len(rows) if strategy.needs_labels else 0,
        fit_wall_s=fit_wall_s,
        encode_train_s=encode_train_s,
        predict_s=predict_s,
        speed=speed,
        peak_mem_mb=memory.peak_mb,
        unit_scores=units,
    )
