"""``compare``: the whole study in one call; the CLI is a thin layer over it."""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from crossover import tasks
from crossover.data import Dataset, load
from crossover.errors import ConfigError
from crossover.evaluation.environment import environment
from crossover.evaluation.progress import Reporter, RichReporter, SilentReporter
from crossover.evaluation.runner import plan, run
from crossover.models._resolve import DEFAULT_MODEL
from crossover.strategies import registry
from crossover.study import Study

__all__ = ["compare", "parse_strategies", "write_outputs"]


def parse_strategies(value: str | list[str] | None, task: str) -> list[str]:
    """Strategy keys from a list or a comma-separated string; defaults to the task's."""
    if value is None:
        return registry.candidates(task)
    keys = [k.strip() for k in value.split(",")] if isinstance(value, str) else list(value)
    keys = [k for k in keys if k]
    if not keys:
        raise ConfigError("--strategies is empty; give keys such as text.tfidf-linear")
    known = set(registry.keys(task))
    for key in keys:
        registry.get(key)  # raises with the list of known keys
        if key not in known:
            raise ConfigError(f"strategy {key!r} does not solve {task}; use one of {sorted(known)}")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"--strategies names a strategy twice: {keys}")
    return keys


def _strategy_params(
    keys: list[str], model: str, cache_dir: str | None, use_cache: bool
) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for key in keys:
        names = registry.get(key)._param_names()
        p: dict[str, Any] = {}
        if "model" in names:
            p["model"] = model
        if "cache_dir" in names and cache_dir is not None:
            p["cache_dir"] = cache_dir
        if "use_cache" in names and not use_cache:
            p["use_cache"] = False
        params[key] = p
    return params


def compare(
    data: str | Path | pd.DataFrame | Dataset,
    *,
    text: str | None = None,
    label: str | None = None,
    test: str | Path | pd.DataFrame | None = None,
    strategies: str | list[str] | None = None,
    model: str = DEFAULT_MODEL,
    label_descriptions: str | Path | dict[str, str] | None = None,
    seed: int = 0,
    use_cache: bool = True,
    strict: bool = False,
    n_resamples: int = 2000,
    measure_speed: bool = True,
    progress: bool | Reporter = True,
    command: str | None = None,
) -> Study:
    """Build and measure every strategy on the same test rows; return the ``Study``.

    Parameters
    ----------
    data : path, DataFrame or Dataset
        Labelled texts (CSV, TSV, Parquet, JSON Lines) or an already loaded ``Dataset``.
    text, label : str, default=None
        Column names; inferred when unambiguous.
    test : path or DataFrame, default=None
        A fixed test set; otherwise a stratified 20 % holdout drawn with ``seed``.
    strategies : str or list of str, default=None
        Registry keys; by default every default candidate of the task.
    model : str, default="sentence-transformers/all-MiniLM-L6-v2"
        Hugging Face id or local folder of the sentence-embedding model.
    label_descriptions : path or dict, default=None
        Label -> description for the pretrained strategies.
    seed : int, default=0
        Seeds the split, the strategies and the bootstrap.
    use_cache : bool, default=True
        Keep embeddings on disk (``CROSSOVER_CACHE_DIR``) across runs.
    n_resamples : int, default=2000
        Bootstrap resamples for the intervals (at least 1000).
    progress : bool or Reporter, default=True
        Show a progress bar per stage (terminal and notebook).

    Examples
    --------
    >>> study = crossover.compare("tickets.csv", text="text", label="label")  # doctest: +SKIP
    >>> study.leaderboard[["strategy", "score", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    started = time.perf_counter()
    if n_resamples < 1000:
        raise ConfigError(f"n_resamples={n_resamples} is too few; use at least 1000")
    reporter: Reporter
    if isinstance(progress, bool):
        reporter = RichReporter() if progress else SilentReporter()
    else:
        reporter = progress
    dataset = (
        data
        if isinstance(data, Dataset)
        else load(
            data,
            text=text,
            label=label,
            test=test,
            label_descriptions=label_descriptions,
            strict=strict,
        )
    )
    task = tasks.get(dataset.spec.task)
    keys = parse_strategies(strategies, task.name)
    split = task.split(dataset, seed)
    with tempfile.TemporaryDirectory(prefix="crossover-nocache-") as scratch:
        # Without the persistent cache, texts are still embedded once per run: in a scratch cache.
        cache_dir = None if use_cache else scratch
        params = _strategy_params(keys, model, cache_dir, use_cache=True)
        trials = plan(keys, params, split, seed)
        results = run(
            trials,
            split,
            task,
            dataset.spec.inputs[0],
            dataset.spec.target,
            dataset.spec.label_descriptions,
            reporter=reporter,
            measure_speed=measure_speed,
        )
    for result in results:
        result.trial.params.pop("cache_dir", None)  # a scratch path means nothing later
    study = Study(
        results=results,
        y_true=split.test[dataset.spec.target].astype(str).tolist(),
        task=task.name,
        headline=task.headline,
        spec=dataset.spec.to_dict(),
        dataset={**dataset.summary(), "inferred": dataset.inferred},
        split={
            "description": split.description,
            "split_id": split.split_id,
            "train_rows": len(split.train),
            "test_rows": len(split.test),
        },
        environment=environment(),
        settings={
            "strategies": keys,
            "model": model,
            "seed": seed,
            "n_resamples": n_resamples,
            "use_cache": use_cache,
            "command": command or shlex.join(sys.argv),
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    study.duration_s = round(time.perf_counter() - started, 2)
    return study


def write_outputs(study: Study, out: str | Path) -> dict[str, Path]:
    """Write ``study.json`` and ``leaderboard.csv`` into ``out``; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"study": study.to_json(out / "study.json"), "leaderboard": out / "leaderboard.csv"}
    study.leaderboard.to_csv(paths["leaderboard"], index=False, float_format="%.6g")
    return paths
