"""``compare``: the whole study in one call; the CLI is a thin layer over it."""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crossover import tasks
from crossover.data import Dataset, load
from crossover.errors import ConfigError
from crossover.evaluation.budgets import Budget, parse_budgets
from crossover.evaluation.environment import environment
from crossover.evaluation.progress import Reporter, RichReporter, SilentReporter
from crossover.evaluation.runner import TrialData, plan, run
from crossover.evaluation.store import TrialStore
from crossover.models._resolve import DEFAULT_MODEL
from crossover.strategies import registry
from crossover.study import Study, _clean

if TYPE_CHECKING:
    from crossover.costs import Scenario
    from crossover.costs.sheet import Pricing
    from crossover.recommend import Recommendation

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
    keys: list[str], model: str, cache_dir: str | None, time_budget_s: float | None
) -> dict[str, dict[str, Any]]:
    """The options a user sets once for every strategy that takes them."""
    params: dict[str, dict[str, Any]] = {}
    for key in keys:
        names = registry.get(key)._param_names()
        p: dict[str, Any] = {}
        if "model" in names:
            p["model"] = model
        if "cache_dir" in names and cache_dir is not None:
            p["cache_dir"] = cache_dir
        if "time_budget_s" in names and time_budget_s is not None:
            p["time_budget_s"] = time_budget_s
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
    budgets: str | list[Budget] | None = None,
    seeds: int = 3,
    jobs: int | None = None,
    target: float | None = None,
    all_budgets: bool = False,
    time_budget_s: float | None = None,
    trials_dir: str | Path | None = None,
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
    budgets : str or list, default=None
        Label budgets for learning curves: counts per class and/or ``"full"``; None means
        ``"2,4,8,16,32,64,full"``. ``"full"`` alone: the leaderboard without curves.
    seeds : int, default=3
        Stratified subsamples per budget.
    jobs : int, default=None
        Worker processes for the learning-curve trials (None: the CPU count).
    target : float, default=None
        A metric value to reach: the study says at which budget each strategy reaches it.
    all_budgets : bool, default=False
        Run strategies that limit their budgets by default (``text.setfit``) at every budget.
    time_budget_s : float, default=None
        Per-trial training time limit for strategies that take one (``text.setfit``).
    trials_dir : path, default=None
        Where finished trials are kept; a rerun with the same arguments resumes from them.
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
    if seeds < 1:
        raise ConfigError(f"--seeds {seeds}: use 1 or more")
    if target is not None and not 0.0 < target <= 1.0:
        raise ConfigError(f"--target {target}: give a metric value between 0 and 1, e.g. 0.9")
    budget_list = parse_budgets(budgets)
    n_jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    if n_jobs < 1:
        raise ConfigError(f"--jobs {n_jobs}: use 1 or more")
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
    text_col, label_col = dataset.spec.inputs[0], dataset.spec.target
    with tempfile.TemporaryDirectory(prefix="crossover-nocache-") as scratch:
        # Without the persistent cache, texts are still embedded once per run: in a scratch cache.
        cache_dir = None if use_cache else scratch
        params = _strategy_params(keys, model, cache_dir, time_budget_s)
        trials, plan_summary = plan(
            keys,
            params,
            split,
            seed,
            label=label_col,
            budgets=budget_list,
            seeds=seeds,
            all_budgets=all_budgets,
        )
        if plan_summary["skipped_budgets"]:
            reporter.message(
                f"skipped budget(s) {plan_summary['skipped_budgets']} per class: no class has "
                "more training rows than that (the full budget covers it)"
            )
        for key, limit in plan_summary["limited"].items():
            reporter.message(
                f"{key} runs at budgets up to {limit} per class only (pass all_budgets / "
                "--all-budgets for more); it is not on the leaderboard"
            )
        trial_data = TrialData.from_split(
            split, text_col, label_col, dataset.spec.label_descriptions, task.name
        )
        # A scratch cache dies with this run: keeping its trials would let a rerun reuse them
        # under a different cache path, which the trial hash would not match anyway.
        store = TrialStore(trials_dir) if trials_dir is not None and use_cache else None
        results = run(
            trials,
            trial_data,
            task,
            reporter=reporter,
            measure_speed=measure_speed,
            store=store,
            jobs=n_jobs,
        )
    if not use_cache:
        for result in results:
            result.trial.params.pop("cache_dir", None)  # a scratch path means nothing later
    study = Study(
        results=results,
        y_true=split.test[dataset.spec.target].astype(str).tolist(),
        x_test=split.test[text_col].astype(str).tolist(),
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
            "budgets": [str(b) for b in budget_list],
            "seeds": seeds,
            "jobs": n_jobs,
            "target": target,
            "all_budgets": all_budgets,
            "plan": plan_summary,
            "command": command or shlex.join(sys.argv),
            "data_paths": _data_paths(dataset),
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    study.duration_s = round(time.perf_counter() - started, 2)
    return study


def _data_paths(dataset: Dataset) -> dict[str, str]:
    """Absolute paths of the data files, so that ``export`` can train on them again."""
    out = {}
    for key, value in (("data", dataset.source), ("test", dataset.test_source)):
        if value and Path(str(value)).is_file():
            out[key] = str(Path(str(value)).resolve())
    return out


def write_outputs(
    study: Study,
    out: str | Path,
    *,
    pricing: Pricing | None = None,
    recommendation: Recommendation | None = None,
    report: bool = True,
) -> dict[str, Path]:
    """Write ``study.json``, ``leaderboard.csv`` and ``learning_curve.csv`` into ``out``; with
    a pricing, ``decision.json`` and ``costs.csv`` (see :func:`write_decision`); and unless
    ``report`` is false, ``report.html`` and ``summary.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "study": study.to_json(out / "study.json"),
        "leaderboard": out / "leaderboard.csv",
        "learning_curve": out / "learning_curve.csv",
    }
    study.leaderboard.to_csv(paths["leaderboard"], index=False, float_format="%.6g")
    study.learning_curve.to_csv(paths["learning_curve"], index=False, float_format="%.6g")
    if pricing is not None and recommendation is not None:
        paths.update(write_decision(pricing, recommendation, out))
    if report:
        from crossover.report import render

        paths.update(render(study, out, pricing=pricing, recommendation=recommendation))
    return paths


def decide(
    study: Study, scenario: Scenario | str | Path | None = None
) -> tuple[Pricing, Recommendation]:
    """Price ``study`` under ``scenario`` (a Scenario, a YAML path, or None for the defaults)
    and apply the recommendation rule; nothing is recomputed."""
    from crossover.costs import Scenario, load_scenario
    from crossover.costs.sheet import price
    from crossover.recommend import decide as apply_rule

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    pricing = price(study, scenario)
    return pricing, apply_rule(study, pricing)


def write_decision(
    pricing: Pricing, recommendation: Recommendation, out: str | Path
) -> dict[str, Path]:
    """Write ``decision.json`` (scenario, assumptions, cost sheets, break-evens, the
    recommendation) and ``costs.csv`` (one row per candidate) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    decision = out / "decision.json"
    payload = {
        "schema_version": 1,
        "pricing": pricing.to_dict(),
        "recommendation": recommendation.to_dict(),
    }
    tmp = decision.with_suffix(".json.part")
    tmp.write_text(json.dumps(_clean(payload), indent=2, allow_nan=False))
    tmp.replace(decision)
    costs = out / "costs.csv"
    pricing.table().to_csv(costs, index=False, float_format="%.6g")
    return {"decision": decision, "costs": costs}
