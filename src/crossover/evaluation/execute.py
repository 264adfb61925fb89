"""One trial, start to end: the rows it sees (``TrialData``), fit on its budget, predict every
test row, score, and measure speed and size. A plain function of the trial and its data, so
that any backend (``crossover.evaluation.backends``) can run it anywhere.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import nan
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crossover.evaluation.budgets import FULL, sample_budget
from crossover.evaluation.latency import measure_latency
from crossover.evaluation.memory import PeakMemory
from crossover.evaluation.trials import Trial, TrialResult
from crossover.strategies import Strategy, registry

if TYPE_CHECKING:
    from crossover.tasks import Split, Task

__all__ = [
    "NOT_MEASURED",
    "Speed",
    "TrialData",
    "api_failure_lines",
    "build_strategy",
    "busy_lines",
    "count_warnings",
    "measured_result",
    "run_trial",
    "speed_and_size",
    "take_rows",
    "warning_lines",
]


@dataclass(frozen=True)
class TrialData:
    """The rows every trial of a study sees on one split (picklable, sent once to each worker).

    ``train_x`` and ``test_x`` are lists of texts, or DataFrames of the input columns for a
    table or of interactions. ``options`` carries what the task's trial and metrics need
    besides the rows (``positive``, ``fpr``; a recommendation's ``k``, catalogue and items);
    ``text_columns`` names a table's free-text columns (embedded before any trial runs).
    """

    train_x: list[str] | pd.DataFrame
    train_y: list[str]
    test_x: list[str] | pd.DataFrame
    y_true: np.ndarray
    label_descriptions: dict[str, str] | None
    options: dict[str, Any] = field(default_factory=dict)
    text_columns: tuple[str, ...] = ()
    #: The texts the encoder reads when they are not the rows' own (a recommendation study's:
    #: one per catalogue item with text), embedded before any trial runs.
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


@dataclass(frozen=True)
class Speed:
    """A trial's speed and size: one-row latency p50 and p95 (ms), batch throughput (rows/s;
    the best timing round's), MB on disk, parameters, and ``timing`` (the rounds and the
    machine's load while they ran; see ``crossover.evaluation.latency``). NaN where not
    measured."""

    latency_p50_ms: float = nan
    latency_p95_ms: float = nan
    throughput_rows_s: float = nan
    size_mb: float = nan
    parameters: int = 0
    timing: dict[str, Any] | None = None


#: The speed of a trial whose speed is not measured.
NOT_MEASURED = Speed()


def speed_and_size(strategy: Strategy, inputs: Any) -> Speed:
    """Time ``strategy`` on ``inputs`` (rounds, with the machine's load) and size it."""
    latency = measure_latency(strategy, inputs)
    footprint = strategy.footprint()
    return Speed(
        latency_p50_ms=latency.latency_p50_ms,
        latency_p95_ms=latency.latency_p95_ms,
        throughput_rows_s=latency.throughput_rows_s,
        size_mb=float(footprint["size_mb"]),
        parameters=int(footprint["parameters"]),
        timing=latency.timing(),
    )


def build_strategy(trial: Trial) -> Strategy:
    cls = registry.get(trial.strategy)
    params = dict(trial.params)
    if "random_state" in cls._param_names():
        params.setdefault("random_state", trial.seed)
    return cls(**params)


def run_trial(
    trial: Trial,
    data: TrialData,
    task: Task,
    *,
    measure_speed: bool = True,
    encode_s_per_text: dict[str, float] | None = None,
) -> TrialResult:
    """Fit on the trial's budget of training rows, predict every test row, and measure.

    Warnings raised meanwhile are not printed: the result's ``warnings`` counts them by
    message (:func:`warning_lines` sums them up over a study's trials). A ``UserWarning``
    (scikit-learn's, at small budgets: most of its warnings are one) is always recorded;
    other categories follow the caller's filters, so a warning made an error stays one.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = _run_trial(
            trial,
            data,
            task,
            measure_speed=measure_speed,
            encode_s_per_text=encode_s_per_text,
        )
    result.warnings = count_warnings(caught, result.warnings)
    return result


def count_warnings(
    caught: Sequence[warnings.WarningMessage], counted: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """``caught`` as one entry per distinct warning (source, category, message on one line,
    cut at 200 characters) with its count, added to the entries ``counted`` already holds."""
    counts: dict[tuple[str, str, str], int] = {}
    for entry in counted:
        key = (entry["source"], entry["category"], entry["message"])
        counts[key] = counts.get(key, 0) + int(entry["count"])
    for w in caught:
        message = " ".join(str(w.message).split())  # one line: a log reads it whole
        if len(message) > _MESSAGE_CHARS:
            message = message[:_MESSAGE_CHARS] + "..."
        key = (_source(w.filename), w.category.__name__, message)
        counts[key] = counts.get(key, 0) + 1
    return [
        {"source": source, "category": category, "message": message, "count": count}
        for (source, category, message), count in counts.items()
    ]


_MESSAGE_CHARS = 200
#: A package's name as its users know it, where its import name differs.
_PACKAGE_NAMES = {"sklearn": "scikit-learn"}


def _source(filename: str) -> str:
    """The package a warning came from, by the file that raised it."""
    parts = Path(filename).parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in ("site-packages", "dist-packages"):
            top = parts[i + 1].removesuffix(".py")
            return _PACKAGE_NAMES.get(top, top)
    return "crossover" if "crossover" in parts else Path(filename).stem


def warning_lines(
    results: Sequence[TrialResult], budget_unit: str = "labels per class"
) -> list[str]:
    """One line per distinct warning of each strategy and budget, e.g. "scikit-learn warned
    12 times in 4 trials of text.tfidf-linear at 2 labels per class: <message>"."""
    groups: dict[tuple[str, str, str, str, str], list[int]] = {}
    for result in results:
        trial = result.trial
        for entry in result.warnings:
            key = (
                trial.strategy,
                str(trial.budget),
                entry["source"],
                entry["category"],
                entry["message"],
            )
            groups.setdefault(key, []).append(int(entry["count"]))
    lines = []
    for (strategy, budget, source, category, message), counts in groups.items():
        where = {"0": "", FULL: " on every training row"}.get(budget, f" at {budget} {budget_unit}")
        kind = "" if category == "UserWarning" else f" ({category})"
        times, trials = sum(counts), len(counts)
        lines.append(
            f"{source} warned{kind} {times} time{'s' * (times != 1)} in {trials} "
            f"trial{'s' * (trials != 1)} of {strategy}{where}: {message}"
        )
    return lines


def busy_lines(results: Sequence[TrialResult]) -> list[str]:
    """One line per strategy whose speed was timed while other work competed for the cores,
    with the load measured meanwhile: its latency and cost per prediction are overstated."""
    from crossover.evaluation.latency import MachineLoad

    lines = []
    for result in results:
        if not result.timed_busy:
            continue
        load = MachineLoad.from_dict((result.timing or {})["load"])
        # Said only of a strategy that reads cached features (nothing is cached for others).
        cached = " (the embeddings stay cached)" if result.embedding_model else ""
        lines.append(
            f"{result.trial.strategy} was timed while the machine was busy "
            f"({load.describe()}): its latency is likely overstated and its "
            "cost per prediction with it; to time it again, rerun on a quiet machine with a "
            f"new --out{cached}"
        )
    return lines


def api_failure_lines(results: Sequence[TrialResult]) -> dict[str, str]:
    """By strategy, one line for each trial behind a paid API some of whose calls got no
    answer: failed and left out of the study when most did (``TrialResult.api_failed``),
    else scored with those rows counted as errors."""
    lines: dict[str, str] = {}
    for result in results:
        api = result.api or {}
        failed, n = int(api.get("failed") or 0), int(api.get("predictions") or 0)
        if not failed:
            continue
        key = result.trial.strategy
        examples = api.get("failed_examples") or []
        last = f" (first failure: {examples[0]})" if examples else ""
        if result.api_failed:
            lines[key] = (
                f"{key} failed: {failed:,} of {n:,} calls to {api.get('model')} got no answer"
                f"{last}; it is left out of the leaderboard, the costs and the recommendation; "
                "rerun once the API answers (answers already paid for are cached)"
            )
        else:
            lines.setdefault(
                key,
                f"{key}: {failed:,} of {n:,} calls to {api.get('model')} got no answer{last}; "
                "they count as errors, so its score is a lower bound",
            )
    return {key: " ".join(line.split()) for key, line in lines.items()}


def _run_trial(
    trial: Trial,
    data: TrialData,
    task: Task,
    *,
    measure_speed: bool,
    encode_s_per_text: dict[str, float] | None,
) -> TrialResult:
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
        speed = Speed(
            latency_p50_ms=float(api.get("latency_p50_ms_per_call") or nan),
            latency_p95_ms=float(api.get("latency_p95_ms_per_call") or nan),
            throughput_rows_s=float(api.get("rows_per_s") or nan),
            size_mb=0.0,
        )
    else:
        speed = speed_and_size(strategy, data.test_x) if measure_speed else NOT_MEASURED
    model = strategy.embedding_model()
    # The cache let fit skip encoding the training texts; charge that time back at the
    # rate measured without cache (see measure_encode_rates).
    encode_train_s = 0.0
    if model is not None and strategy.needs_labels and encode_s_per_text:
        n_texts = len(train_y) * data.texts_per_row
        encode_train_s = n_texts * encode_s_per_text.get(strategy.encoding_key() or model, 0.0)
    return measured_result(
        trial,
        strategy,
        metrics=scores,
        predictions=[str(p) for p in predictions],
        n_train=len(train_y) if strategy.needs_labels else 0,
        fit_wall_s=fit_wall_s,
        encode_train_s=encode_train_s,
        predict_s=predict_s,
        speed=speed,
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
    speed: Speed,
    peak_mem_mb: float,
    **extra: Any,
) -> TrialResult:
    """A trial's result in this process: ``fit_s`` is the wall time plus the encoding charged
    back; ``extra`` are the task's own fields (probabilities, per-unit scores, API usage)."""
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
        latency_p50_ms=speed.latency_p50_ms,
        latency_p95_ms=speed.latency_p95_ms,
        throughput_rows_s=speed.throughput_rows_s,
        size_mb=speed.size_mb,
        parameters=speed.parameters,
        peak_mem_mb=peak_mem_mb,
        timing=speed.timing,
        embedding_model=strategy.embedding_model(),
        execution={"pid": os.getpid(), "worker": False},
        **extra,
    )
