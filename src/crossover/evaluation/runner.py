"""Planning and running trials: fit, predict the test rows, measure; cached and resumable.

Two phases. The *timed* trials (each pretrained strategy, and each trained strategy on the
full training split) run in this process, one at a time, so their latency is measured on a
quiet machine. The *learning-curve* trials (label budgets x seeds) run on a ``Backend``
(``crossover.evaluation.backends``: by default ``jobs`` local worker processes), which read
embeddings from the on-disk cache and so never load the encoder. Every finished result goes
to the ``TrialStore`` at once; a rerun skips what is there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import nan
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crossover.evaluation.backends import (
    Backend,
    InProcessBackend,
    ProcessPoolBackend,
    TrialWork,
)
from crossover.evaluation.budgets import FULL, Budget, plan_budgets, sample_budget
from crossover.evaluation.latency import measure_latency
from crossover.evaluation.memory import PeakMemory
from crossover.evaluation.progress import Reporter, SilentReporter
from crossover.evaluation.store import TrialStore
from crossover.evaluation.trials import Trial, TrialResult
from crossover.models import get_embedder
from crossover.strategies import Strategy, registry

if TYPE_CHECKING:
    from crossover.tasks import Split, Task

__all__ = [
    "Trial",
    "TrialData",
    "TrialResult",
    "build_strategy",
    "is_timed",
    "measure_encode_rates",
    "measured_result",
    "plan",
    "prefetch_embeddings",
    "run",
    "run_trial",
    "take_rows",
]


@dataclass(frozen=True)
class TrialData:
    """The rows every trial of a study sees on one split (picklable, sent once to each worker).

    ``train_x`` and ``test_x`` are lists of texts, or DataFrames of the input columns for a
    table. ``options`` carries what the metrics need besides the rows (``positive``, ``fpr``);
    ``text_columns`` names a table's free-text columns (embedded before any trial runs).
    """

    train_x: list[str] | pd.DataFrame
    train_y: list[str]
    test_x: list[str] | pd.DataFrame
    y_true: np.ndarray
    label_descriptions: dict[str, str] | None
    options: dict[str, Any] = field(default_factory=dict)
    text_columns: tuple[str, ...] = ()
    #: Recommendation: the items frame (id and text), and the texts the encoder reads (one per
    #: catalogue item with text) when they are not the rows' own.
    items: pd.DataFrame | None = None
    corpus: tuple[str, ...] = ()

    @classmethod
    def from_split(
        cls,
        split: Split,
        text: str | Sequence[str],
        label: str,
        descriptions: dict[str, str] | None,
        *,
        options: dict[str, Any] | None = None,
        text_columns: Sequence[str] = (),
    ) -> TrialData:
        """Texts from column ``text``, or a table of the columns ``text`` when it is a list."""
        train_x: list[str] | pd.DataFrame
        test_x: list[str] | pd.DataFrame
        if isinstance(text, str):
            train_x = split.train[text].astype(str).tolist()
            test_x = split.test[text].astype(str).tolist()
        else:
            train_x = split.train[list(text)].reset_index(drop=True)
            test_x = split.test[list(text)].reset_index(drop=True)
        return cls(
            train_x=train_x,
            train_y=split.train[label].astype(str).tolist(),
            test_x=test_x,
            y_true=split.test[label].astype(str).to_numpy(dtype=object),
            label_descriptions=descriptions,
            options=dict(options or {}),
            text_columns=tuple(text_columns),
        )

    def texts(self, which: str = "all") -> list[str]:
        """The texts a pre-trained encoder reads: ``"train"`` rows' or ``"all"`` rows' (the
        corpus, when there is one)."""
        if self.corpus:
            return list(self.corpus)
        parts = [self.train_x] if which == "train" else [self.train_x, self.test_x]
        out: list[str] = []
        for part in parts:
            if isinstance(part, pd.DataFrame):
                for column in self.text_columns:
                    out.extend(part[column].fillna("").astype(str).tolist())
            else:
                out.extend(part)
        return out

    @property
    def texts_per_row(self) -> int:
        return len(self.text_columns) if isinstance(self.train_x, pd.DataFrame) else 1


def take_rows(
    x: list[str] | pd.DataFrame, rows: Sequence[int] | np.ndarray
) -> list[str] | pd.DataFrame:
    """The rows at positions ``rows`` of a list of texts or of a table."""
    if isinstance(x, pd.DataFrame):
        return x.iloc[list(rows)].reset_index(drop=True)
    return [x[i] for i in rows]


def is_timed(trial: Trial) -> bool:
    """Whether a trial is on the leaderboard (and so has its speed measured)."""
    return trial.budget in (FULL, 0)


def plan(
    strategies: Sequence[str],
    params: dict[str, dict[str, Any]],
    split: Split,
    seed: int,
    *,
    label: str | None = None,
    budgets: Sequence[Budget] = (FULL,),
    seeds: int = 1,
    all_budgets: bool = False,
    extra_splits: Sequence[str] = (),
) -> tuple[list[Trial], dict[str, Any]]:
    """The trials of a study and a summary of the plan.

    A pretrained strategy gets one trial (budget 0). A trained strategy gets one trial on the
    full split (seed ``seed``, the leaderboard's) and one per (budget, seed) for the other
    budgets, seeds ``seed .. seed + seeds - 1``. A strategy with ``max_default_budget`` runs
    only up to it (and not on the full split) unless ``all_budgets``. ``extra_splits`` are
    the ids of further splits the leaderboard is measured on (repeated splits of a small
    table): each strategy gets one more leaderboard trial on each.
    """
    if label is not None:
        kept, skipped = plan_budgets(budgets, split.train[label])
    else:
        kept, skipped = list(budgets), []
    trials: list[Trial] = []
    limited: dict[str, int] = {}
    for key in strategies:
        cls = registry.get(key)
        p = dict(params.get(key, {}))
        if not cls.needs_labels:
            trials.append(Trial(key, p, 0, seed, split.split_id))
            trials.extend(Trial(key, p, 0, seed, sid) for sid in extra_splits)
            continue
        limit = None if all_budgets else cls.max_default_budget
        if not cls.learning_curve:
            trials.append(Trial(key, p, FULL, seed, split.split_id))
            trials.extend(Trial(key, p, FULL, seed, sid) for sid in extra_splits)
            continue
        if limit is not None:
            limited[key] = limit
        else:
            trials.append(Trial(key, p, FULL, seed, split.split_id))
            trials.extend(Trial(key, p, FULL, seed, sid) for sid in extra_splits)
        for budget in kept:
            if budget == FULL or (limit is not None and int(budget) > limit):
                continue
            trials.extend(Trial(key, p, budget, seed + s, split.split_id) for s in range(seeds))
    summary = {
        "budgets": [b for b in kept],
        "skipped_budgets": skipped,
        "seeds": seeds,
        "limited": limited,
        "trials": len(trials),
        "splits": 1 + len(extra_splits),
    }
    return trials, summary


#: (p50 ms, p95 ms, rows/s, MB, parameters) of a trial whose speed is not measured.
NOT_MEASURED: tuple[float, float, float, float, int] = (nan, nan, nan, nan, 0)


def speed_and_size(strategy: Strategy, inputs: Any) -> tuple[float, float, float, float, int]:
    """One-row latency p50 and p95 (ms), batch throughput (rows/s), MB on disk, parameters."""
    latency = measure_latency(strategy, inputs)
    footprint = strategy.footprint()
    return (
        latency.latency_p50_ms,
        latency.latency_p95_ms,
        latency.throughput_rows_s,
        float(footprint["size_mb"]),
        int(footprint["parameters"]),
    )


def build_strategy(trial: Trial) -> Strategy:
    cls = registry.get(trial.strategy)
    params = dict(trial.params)
    if "random_state" in cls._param_names():
        params.setdefault("random_state", trial.seed)
    return cls(**params)


def prefetch_embeddings(
    trials: list[Trial], texts: list[str], reporter: Reporter
) -> dict[str, float]:
    """Embed every text once per embedding model the trials use, before any trial runs.

    Returns the seconds spent per model (near zero when the cache already held every text).
    """
    spent: dict[str, float] = {}
    seen: set[tuple[str, str | None]] = set()
    for trial in trials:
        model = build_strategy(trial).embedding_model()
        cache_dir = trial.params.get("cache_dir")
        if model is None or (model, cache_dir) in seen or not trial.params.get("use_cache", True):
            continue
        seen.add((model, cache_dir))
        embedder = get_embedder(model, cache_dir=Path(cache_dir) if cache_dir else None)
        start = time.perf_counter()
        with reporter.stage(f"embedding texts with {model}", total=None) as advance:
            embedder.encode(texts, on_progress=advance)
        spent[model] = time.perf_counter() - start
    return spent


def measure_encode_rates(
    trials: list[Trial], texts: list[str], sample_size: int = 512
) -> dict[str, float]:
    """Seconds per text to embed training texts, per model, timed on a sample without cache.

    The embedding cache lets a trained strategy's ``fit`` skip encoding its training rows;
    this rate charges that work back, so ``fit_s`` is what a training run would take.
    """
    rates: dict[str, float] = {}
    if not texts:
        return rates
    step = max(1, len(texts) // sample_size)
    sample = texts[::step][:sample_size]
    for trial in trials:
        strategy = build_strategy(trial)
        model = strategy.embedding_model()
        if model is None or not strategy.needs_labels or model in rates:
            continue
        embedder = get_embedder(model)
        embedder.encode(sample[:8], use_cache=False)  # warm-up: loading is not encoding
        start = time.perf_counter()
        embedder.encode(sample, use_cache=False)
        rates[model] = (time.perf_counter() - start) / len(sample)
    return rates


def run_trial(
    trial: Trial,
    data: TrialData,
    task: Task,
    *,
    measure_speed: bool = True,
    encode_s_per_text: dict[str, float] | None = None,
) -> TrialResult:
    """Fit on the trial's budget of training rows, predict every test row, and measure."""
    if task.run_trial is not None:
        result: TrialResult = task.run_trial(
            trial,
            data,
            task,
            measure_speed=measure_speed,
            encode_s_per_text=encode_s_per_text,
        )
        return result
    strategy = build_strategy(trial)
    rows = sample_budget(
        pd.Series(data.train_y), trial.budget if trial.budget else FULL, trial.seed
    )
    train_x = take_rows(data.train_x, rows)
    train_y = [data.train_y[i] for i in rows]
    proba = None
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        strategy.fit(train_x, train_y, label_descriptions=data.label_descriptions)
        fit_wall_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        if task.needs_proba:
            proba = strategy.predict_proba(data.test_x)
            predictions = np.asarray(strategy.classes_[np.argmax(proba, axis=1)], dtype=object)
        else:
            predictions = strategy.predict(data.test_x)
        predict_s = time.perf_counter() - t0
    scores = task.evaluate(data.y_true, predictions, proba, strategy.classes_, data.options)
    api = strategy.api_usage()
    if api is not None:
        # Behind a paid API: latency per call as the predictions measured it (re-running rows
        # would pay again); nothing to deploy but the prompt.
        p50 = float(api.get("latency_p50_ms_per_call") or nan)
        p95 = float(api.get("latency_p95_ms_per_call") or nan)
        throughput, size_mb, parameters = float(api.get("rows_per_s") or nan), 0.0, 0
    else:
        p50, p95, throughput, size_mb, parameters = (
            speed_and_size(strategy, data.test_x) if measure_speed else NOT_MEASURED
        )
    model = strategy.embedding_model()
    # The cache let fit skip encoding the training texts; charge that time back at the
    # rate measured without cache (see measure_encode_rates).
    encode_train_s = 0.0
    if model is not None and strategy.needs_labels and encode_s_per_text:
        n_texts = len(train_y) * data.texts_per_row
        encode_train_s = n_texts * encode_s_per_text.get(model, 0.0)
    return measured_result(
        trial,
        strategy,
        metrics=scores,
        predictions=[str(p) for p in predictions],
        n_train=len(train_y) if strategy.needs_labels else 0,
        fit_wall_s=fit_wall_s,
        encode_train_s=encode_train_s,
        predict_s=predict_s,
        speed=(p50, p95, throughput, size_mb, parameters),
        peak_mem_mb=memory.peak_mb,
        n_classes=len(strategy.classes_),
        proba=None if proba is None else np.round(proba, 6).tolist(),
        classes=None if proba is None else [str(c) for c in strategy.classes_],
        api=api,
    )


def measured_result(
    trial: Trial,
    strategy: Strategy,
    *,
    metrics: dict[str, float],
    predictions: list[str],
    n_train: int,
    fit_wall_s: float,
    encode_train_s: float,
    predict_s: float,
    speed: tuple[float, float, float, float, int],
    peak_mem_mb: float,
    **extra: Any,
) -> TrialResult:
    """A trial's result in this process: ``fit_s`` is the wall time plus the encoding charged
    back; ``speed`` is (p50 ms, p95 ms, rows/s, MB, parameters); ``extra`` are the task's own
    fields (probabilities, per-unit scores, API usage)."""
    p50, p95, throughput, size_mb, parameters = speed
    return TrialResult(
        trial=trial,
        kind=strategy.kind,
        metrics=metrics,
        predictions=predictions,
        n_train=n_train,
        fit_s=fit_wall_s + encode_train_s,
        fit_wall_s=fit_wall_s,
        encode_train_s=encode_train_s,
        predict_s=predict_s,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        throughput_rows_s=throughput,
        size_mb=size_mb,
        parameters=parameters,
        peak_mem_mb=peak_mem_mb,
        embedding_model=strategy.embedding_model(),
        execution={"pid": os.getpid(), "worker": False},
        **extra,
    )


def run(
    trials: list[Trial],
    data: TrialData | dict[str, TrialData],
    task: Task,
    *,
    reporter: Reporter | None = None,
    measure_speed: bool = True,
    store: TrialStore | None = None,
    jobs: int = 1,
    backend: Backend | None = None,
) -> list[TrialResult]:
    """Run every trial not already in ``store``; return all results in the order of ``trials``.

    ``data`` is the rows of the one split, or the rows of each split by split id (the first
    is the primary split: only its leaderboard trials have their speed measured). Texts are
    embedded first, once per model, in this process; the leaderboard trials run here; the
    learning-curve trials run on ``backend`` (default: ``jobs`` local worker processes, or
    this process when ``jobs`` is 1 or there is one such trial).
    """
    if reporter is None:
        reporter = SilentReporter()
    if isinstance(data, TrialData):
        data = {trials[0].split_id if trials else "": data}
    datas = data
    primary = next(iter(datas.values()))
    results: dict[str, TrialResult] = {}
    todo: list[Trial] = []
    for trial in trials:
        found = store.get(trial) if store is not None else None
        if found is not None:
            results[trial.hash] = found
        else:
            todo.append(trial)
    if results and store is not None:
        reporter.message(
            f"resumed {len(results)} finished trial(s) from {store.directory}; {len(todo)} to run"
        )
    if not todo:
        return [results[t.hash] for t in trials]

    def finished(result: TrialResult) -> None:
        results[result.trial.hash] = result
        if store is not None:
            store.put(result)

    prefetch_embeddings(todo, primary.texts(), reporter)
    rates = measure_encode_rates(todo, primary.texts("train")) if measure_speed else {}
    primary_id = next(iter(datas))
    timed = [t for t in todo if is_timed(t)]
    curve = [t for t in todo if not is_timed(t)]
    if timed:
        with reporter.stage("leaderboard trials (fit, predict, latency)", len(timed)) as advance:
            for i, trial in enumerate(timed):
                finished(
                    run_trial(
                        trial,
                        datas.get(trial.split_id, primary),
                        task,
                        measure_speed=measure_speed and trial.split_id == primary_id,
                        encode_s_per_text=rates,
                    )
                )
                advance(i + 1, None)
    if curve:
        if backend is None:
            parallel = jobs > 1 and len(curve) > 1
            backend = ProcessPoolBackend(min(jobs, len(curve))) if parallel else InProcessBackend()
        description = f"learning-curve trials ({backend.where})"
        work = TrialWork(datas, task, rates)
        with reporter.stage(description, len(curve)) as advance:
            for done, result in enumerate(backend.map(curve, work), start=1):
                finished(result)
                advance(done, None)
    return [results[t.hash] for t in trials]
