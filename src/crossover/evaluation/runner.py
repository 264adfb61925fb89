"""Trials and their execution: fit, predict the test rows, measure speed, size and memory."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crossover.evaluation.latency import measure_latency
from crossover.evaluation.memory import PeakMemory
from crossover.evaluation.progress import Reporter, SilentReporter
from crossover.models import get_embedder
from crossover.strategies import Strategy, registry
from crossover.tasks import Split, Task

__all__ = ["Trial", "TrialResult", "plan", "prefetch_embeddings", "run"]


@dataclass(frozen=True)
class Trial:
    """One strategy, with its parameters, trained on one label budget of one split and seed.

    Pure data; ``hash`` is its cache key.
    """

    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    budget: str | int = "full"
    seed: int = 0
    split_id: str = ""

    @property
    def hash(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrialResult:
    """What one trial measured. Units are in the names; see ``Study.GLOSSARY``."""

    trial: Trial
    kind: str
    metrics: dict[str, float]
    predictions: list[str]
    n_train: int
    fit_s: float
    fit_wall_s: float
    encode_train_s: float
    predict_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    throughput_rows_s: float
    size_mb: float
    parameters: int
    peak_mem_mb: float
    embedding_model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["trial"] = self.trial.to_dict()
        out["trial_hash"] = self.trial.hash
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        data = dict(data)
        data.pop("trial_hash", None)
        data["trial"] = Trial(**data["trial"])
        return cls(**data)


def plan(
    strategies: list[str], params: dict[str, dict[str, Any]], split: Split, seed: int
) -> list[Trial]:
    """One full-data trial per strategy on ``split`` (label budgets come with learning curves)."""
    return [
        Trial(key, dict(params.get(key, {})), "full", seed, split.split_id) for key in strategies
    ]


def _build(trial: Trial) -> Strategy:
    return registry.get(trial.strategy)(**trial.params)


def prefetch_embeddings(
    trials: list[Trial], texts: list[str], reporter: Reporter
) -> dict[str, float]:
    """Embed every text once per embedding model the trials use, before any trial runs.

    Returns the seconds spent per model (zero when the cache already held every text).
    """
    spent: dict[str, float] = {}
    seen: set[tuple[str, str | None, bool]] = set()
    for trial in trials:
        strategy = _build(trial)
        model = strategy.embedding_model()
        if model is None:
            continue
        cache_dir = trial.params.get("cache_dir")
        use_cache = bool(trial.params.get("use_cache", True))
        if (model, cache_dir, use_cache) in seen or not use_cache:
            continue
        seen.add((model, cache_dir, use_cache))
        embedder = get_embedder(
            model, cache_dir=Path(cache_dir) if cache_dir else None, use_cache=use_cache
        )
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
        strategy = _build(trial)
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
    split: Split,
    task: Task,
    text: str,
    label: str,
    label_descriptions: dict[str, str] | None,
    *,
    measure_speed: bool = True,
    encode_s_per_text: dict[str, float] | None = None,
) -> TrialResult:
    """Fit on the split's training rows, predict its test rows, and measure."""
    strategy = _build(trial)
    train_x = split.train[text].tolist()
    train_y = split.train[label].astype(str).tolist()
    test_x = split.test[text].tolist()
    y_true = split.test[label].astype(str).to_numpy(dtype=object)
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        strategy.fit(train_x, train_y, label_descriptions=label_descriptions)
        fit_wall_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        predictions = strategy.predict(test_x)
        predict_s = time.perf_counter() - t0
    metrics = {name: fn(y_true, predictions) for name, fn in task.metrics.items()}
    if measure_speed:
        latency = measure_latency(strategy, test_x)
        p50, p95, throughput = (
            latency.latency_p50_ms,
            latency.latency_p95_ms,
            latency.throughput_rows_s,
        )
    else:
        p50 = p95 = throughput = float("nan")
    model = strategy.embedding_model()
    # The cache let fit skip encoding the training texts; charge that time back at the
    # rate measured without cache (see measure_encode_rates).
    encode_train_s = 0.0
    if model is not None and strategy.needs_labels and encode_s_per_text:
        encode_train_s = len(train_x) * encode_s_per_text.get(model, 0.0)
    footprint = strategy.footprint()
    return TrialResult(
        trial=trial,
        kind=strategy.kind,
        metrics=metrics,
        predictions=[str(p) for p in predictions],
        n_train=len(train_x) if strategy.needs_labels else 0,
        fit_s=fit_wall_s + encode_train_s,
        fit_wall_s=fit_wall_s,
        encode_train_s=encode_train_s,
        predict_s=predict_s,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        throughput_rows_s=throughput,
        size_mb=float(footprint["size_mb"]),
        parameters=int(footprint["parameters"]),
        peak_mem_mb=memory.peak_mb,
        embedding_model=model,
    )


def run(
    trials: list[Trial],
    split: Split,
    task: Task,
    text: str,
    label: str,
    label_descriptions: dict[str, str] | None = None,
    *,
    reporter: Reporter | None = None,
    measure_speed: bool = True,
) -> list[TrialResult]:
    """Run ``trials`` one after another, embedding every text first (once per model)."""
    if reporter is None:
        reporter = SilentReporter()
    texts = split.train[text].tolist() + split.test[text].tolist()
    prefetch_embeddings(trials, texts, reporter)
    rates = measure_encode_rates(trials, split.train[text].tolist()) if measure_speed else {}
    results: list[TrialResult] = []
    with reporter.stage("fitting and measuring strategies", total=len(trials)) as advance:
        for i, trial in enumerate(trials):
            reporter.message(f"  {trial.strategy}: fit, predict, latency")
            results.append(
                run_trial(
                    trial,
                    split,
                    task,
                    text,
                    label,
                    label_descriptions,
                    measure_speed=measure_speed,
                    encode_s_per_text=rates,
                )
            )
            advance(i + 1, None)
    return results
