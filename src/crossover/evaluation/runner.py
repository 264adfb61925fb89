"""Planning and running trials: fit, predict the test rows, measure; cached and resumable.

Two phases. The *timed* trials (each pretrained strategy, and each trained strategy on the
full training split) run in this process, one at a time, so their latency is measured on a
quiet machine. The *learning-curve* trials (label budgets x seeds) run on a ``Backend``
(``crossover.evaluation.backends``: by default ``jobs`` local worker processes), which read
embeddings from the on-disk cache and so never load the encoder. Every finished result goes
to the ``TrialStore`` at once; a rerun skips what is there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crossover.evaluation.backends import (
    Backend,
    InProcessBackend,
    ProcessPoolBackend,
    TrialWork,
)
from crossover.evaluation.budgets import FULL, Budget, plan_budgets
from crossover.evaluation.execute import (
    TrialData,
    api_failure_lines,
    build_strategy,
    busy_lines,
    measured_result,
    run_trial,
    take_rows,
    warning_lines,
)
from crossover.evaluation.progress import Reporter, SilentReporter, call_progress
from crossover.evaluation.store import TrialStore
from crossover.evaluation.trials import Trial, TrialResult
from crossover.models.llm import report_calls
from crossover.strategies import registry

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

    A pretrained strategy gets one trial (budget 0), unless its input is limited by a budget
    (``curve_without_labels``: it is then planned as a trained one). A trained strategy gets
    one trial on the full split (seed ``seed``, the leaderboard's) and one per (budget, seed)
    for the other budgets, seeds ``seed .. seed + seeds - 1``. A strategy with
    ``max_default_budget`` runs only up to it (and not on the full split) unless
    ``all_budgets``. ``extra_splits`` are the ids of further splits the leaderboard is measured
    on (repeated splits of a small table): each strategy gets one more leaderboard trial on
    each.
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
        if not cls.needs_labels and not cls.curve_without_labels:
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


def prefetch_embeddings(
    trials: list[Trial], texts: list[str], reporter: Reporter
) -> dict[str, float]:
    """Embed every text once per embedding model the trials use, before any trial runs.

    Returns the seconds spent per model (near zero when the cache already held every text).
    """
    spent: dict[str, float] = {}
    seen: set[tuple[str, str | None]] = set()
    for trial in trials:
        strategy = build_strategy(trial)
        model = strategy.encoding_key()
        cache_dir = trial.params.get("cache_dir")
        if model is None or (model, cache_dir) in seen or not trial.params.get("use_cache", True):
            continue
        seen.add((model, cache_dir))
        encoder = strategy.feature_encoder()
        if encoder is None:
            continue
        what = "images" if strategy.input_kind == "image" else "texts"
        start = time.perf_counter()
        with reporter.stage(f"embedding {what} with {model}", total=None) as advance:
            encoder.encode(texts, on_progress=advance)
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
        model = strategy.encoding_key()
        if model is None or not strategy.needs_labels or model in rates:
            continue
        encoder = strategy.feature_encoder()
        if encoder is None:
            continue
        encoder.encode(sample[:8], use_cache=False)  # warm-up: loading is not encoding
        start = time.perf_counter()
        encoder.encode(sample, use_cache=False)
        rates[model] = (time.perf_counter() - start) / len(sample)
    return rates


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
        # A trial whose API calls mostly failed is not kept: a rerun calls again (the answers
        # it did get are in the response cache).
        if store is not None and not result.api_failed:
            store.put(result)

    # A backend that can encode where the trials run does it first (Ray Data on a cluster);
    # the local pass then finds every vector cached.
    encode_there = getattr(backend, "prefetch_embeddings", None)
    if encode_there is not None:
        encode_there(todo, primary.texts(), reporter)
    prefetch_embeddings(todo, primary.texts(), reporter)
    rates = measure_encode_rates(todo, primary.texts("train")) if measure_speed else {}
    primary_id = next(iter(datas))
    timed = [t for t in todo if is_timed(t)]
    curve = [t for t in todo if not is_timed(t)]
    if timed:
        with reporter.stage("leaderboard trials (fit, predict, latency)", len(timed)) as advance:
            for i, trial in enumerate(timed):
                # A strategy behind an API reports its calls as they come back.
                with report_calls(call_progress(reporter, trial.strategy)):
                    result = run_trial(
                        trial,
                        datas.get(trial.split_id, primary),
                        task,
                        measure_speed=measure_speed and trial.split_id == primary_id,
                        encode_s_per_text=rates,
                    )
                finished(result)
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
    # The trials' warnings were recorded, not printed: one line for each, after the stages.
    for line in warning_lines([results[t.hash] for t in todo], task.present.budget_unit):
        reporter.message(line)
    for line in busy_lines([results[t.hash] for t in timed]):
        reporter.message(line)
    for line in api_failure_lines([results[t.hash] for t in timed]).values():
        reporter.message(line)
    return [results[t.hash] for t in trials]
