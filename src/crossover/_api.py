"""``compare``: the whole study in one call; the CLI is a thin layer over it."""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from crossover import tasks
from crossover.data import Dataset, load
from crossover.errors import ConfigError
from crossover.evaluation.budgets import Budget, parse_budgets
from crossover.evaluation.environment import environment
from crossover.evaluation.progress import Reporter
from crossover.evaluation.runner import TrialData, plan, run
from crossover.evaluation.store import TrialStore
from crossover.models._resolve import DEFAULT_MODEL
from crossover.plan import (
    API_EMBEDDING_STRATEGIES,
    LLM_STRATEGIES,
    TABLE_LLM_STRATEGIES,
    LlmOptions,
    parse_strategies,
    settle_options,
    strategy_params,
)
from crossover.strategies import registry
from crossover.study import Study, _clean

if TYPE_CHECKING:
    from crossover.costs import Scenario
    from crossover.costs.sheet import Pricing
    from crossover.recommend import Recommendation

__all__ = ["LlmOptions", "compare", "parse_strategies", "write_outputs"]


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
    task: str = "text-classification",
    categorical: list[str] | None = None,
    text_columns: list[str] | None = None,
    drop: list[str] | None = None,
    time: str | None = None,
    positive: str | None = None,
    amount: str | None = None,
    cost_fp: float | None = None,
    fpr: float = 0.01,
    repeats: int | None = None,
    user: str | None = None,
    item: str | None = None,
    items: str | Path | pd.DataFrame | None = None,
    item_id: str | None = None,
    rating: str | None = None,
    min_rating: float | None = None,
    holdout: int = 5,
    k: int = 10,
    llm: LlmOptions | str | None = None,
    confirm: Callable[[str], bool] | None = None,
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
    task : {"text-classification", "tabular-classification", "recommendation"}
        What to predict from what (ignored when ``data`` is a loaded ``Dataset``).
    categorical, text_columns, drop, time, positive, amount : optional
        Tables: column kinds to force, columns to leave out, the time column to split on,
        the positive class, and the money column (see ``crossover.data.load``).
    cost_fp : float, default=None
        Tables, with ``amount``: the cost of reviewing one flagged row; the study then reports
        each strategy's expected-loss threshold and the money it saves against no model.
    fpr : float, default=0.01
        Tables: the false-positive rate at which ``recall_at_fpr`` is read.
    repeats : int, default=None
        Tables: stratified splits to average over (None: 5 for a small table, else 1).
    user, item, items, item_id, rating, min_rating, holdout, k : optional
        ``task="recommendation"``: ``data`` is the interactions (``user`` and ``item`` id
        columns, ``time`` and ``rating`` optional), ``items`` the items file (``item_id`` and
        ``text_columns``); see ``crossover.tasks.recommendation.compare.compare_recommendation``.
    llm : LlmOptions or str, default=None
        An LLM behind an API (a LiteLLM model id, or ``LlmOptions``): texts also get
        ``text.llm-zero-shot`` and ``text.llm-few-shot``. Before any call the spend is
        estimated; above ``confirm_above_usd``, ``confirm(message)`` must return True.
    confirm : callable, default=None
        Asked before spending more than ``llm.confirm_above_usd``; None: no question.

    Examples
    --------
    >>> study = crossover.compare("tickets.csv", text="text", label="label")  # doctest: +SKIP
    >>> study.leaderboard[["strategy", "score", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    if task == "recommendation" and not isinstance(data, Dataset):
        from crossover.tasks.recommendation.compare import compare_recommendation

        return compare_recommendation(
            data,
            user=user,
            item=item,
            items=items,
            item_id=item_id,
            text_columns=text_columns,
            rating=rating,
            min_rating=min_rating,
            time=time,
            holdout=holdout,
            k=k,
            strategies=strategies,
            model=model,
            seed=seed,
            use_cache=use_cache,
            n_resamples=n_resamples,
            budgets=budgets,
            seeds=seeds,
            jobs=jobs,
            target=target,
            trials_dir=trials_dir,
            measure_speed=measure_speed,
            progress=progress,
            command=command,
        )
    started = perf_counter()
    n_jobs, reporter = settle_options(
        seeds=seeds, n_resamples=n_resamples, jobs=jobs, progress=progress
    )
    if target is not None and not 0.0 < target <= 1.0:
        raise ConfigError(f"--target {target}: give a metric value between 0 and 1, e.g. 0.9")
    if not 0.0 < fpr < 1.0:
        raise ConfigError(f"--fpr {fpr}: give a false-positive rate between 0 and 1, e.g. 0.01")
    if repeats is not None and repeats < 1:
        raise ConfigError(f"--repeats {repeats}: use 1 or more")
    if cost_fp is not None and cost_fp < 0:
        raise ConfigError(f"--cost-fp {cost_fp}: give a non-negative cost per reviewed row")
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
            task=task,
            categorical=categorical or (),
            text_columns=text_columns or (),
            drop=drop or (),
            time=time,
            positive=positive,
            amount=amount,
        )
    )
    spec = dataset.spec
    if cost_fp is not None and spec.amount is None:
        raise ConfigError("--cost-fp needs --amount COLUMN: the money a missed positive loses")
    the_task = tasks.get(spec.task)
    is_table = spec.column_types is not None
    table_text = [c for c, k in (spec.column_types or {}).items() if k == "text"]
    budget_list = parse_budgets(budgets if budgets is not None else the_task.default_budgets)
    keys = parse_strategies(strategies, the_task.name, has_text=bool(table_text) or not is_table)
    llm_options = LlmOptions(llm) if isinstance(llm, str) else llm
    if llm_options is not None and strategies is None:
        added: tuple[str, ...] = ()
        if llm_options.model:
            added += TABLE_LLM_STRATEGIES if is_table else LLM_STRATEGIES
        if llm_options.embedding_model and not is_table:
            added += API_EMBEDDING_STRATEGIES
        keys += [k for k in added if k not in keys]
    api_keys = [k for k in keys if registry.get(k).is_api]
    _check_api_models(api_keys, llm_options)
    unavailable = registry.unavailable(the_task.name)
    for key, reason in unavailable.items():
        reporter.message(f"{key} is not compared: {reason}")
    splits = the_task.all_splits(dataset, seed, repeats)
    split = splits[0]
    label_col = spec.target
    inputs: str | list[str] = list(spec.inputs) if is_table else spec.inputs[0]
    if len(splits) > 1:
        reporter.message(
            f"small table: the leaderboard is the mean over {len(splits)} stratified splits "
            "(--repeats), with intervals that carry the split-to-split spread"
        )
    with tempfile.TemporaryDirectory(prefix="crossover-nocache-") as scratch:
        # Without the persistent cache, texts are still embedded once per run: in a scratch cache.
        cache_dir = None if use_cache else scratch
        params = strategy_params(
            keys, model, cache_dir, time_budget_s, spec.column_types, spec.time, llm_options
        )
        trials, plan_summary = plan(
            keys,
            params,
            split,
            seed,
            label=label_col,
            budgets=budget_list,
            seeds=seeds,
            all_budgets=all_budgets,
            extra_splits=[sp.split_id for sp in splits[1:]],
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
        options = {"positive": spec.positive, "fpr": fpr}
        trial_data = {
            sp.split_id: TrialData.from_split(
                sp,
                inputs,
                label_col,
                spec.label_descriptions,
                options=options,
                text_columns=table_text,
            )
            for sp in splits
        }
        # A scratch cache dies with this run: keeping its trials would let a rerun reuse them
        # under a different cache path, which the trial hash would not match anyway.
        store = TrialStore(trials_dir) if trials_dir is not None and use_cache else None
        if api_keys and llm_options is not None:
            primary = trial_data[split.split_id]
            _approve_spend(api_keys, params, primary, llm_options, reporter, confirm)
        results = run(
            trials,
            trial_data,
            the_task,
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
        y_true=split.test[spec.target].astype(str).tolist(),
        x_test=[] if is_table else split.test[spec.inputs[0]].astype(str).tolist(),
        task=the_task.name,
        headline=the_task.headline_for(dataset),
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
            "fpr": fpr,
            "cost_fp": cost_fp,
            "repeats": len(splits),
            "unavailable": unavailable,
            "load": {"task": spec.task, **dataset.options},
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if spec.amount is not None and cost_fp is not None and spec.positive is not None:
        study.thresholds = _thresholds(study, split.test[spec.amount].to_numpy(), cost_fp, seed)
    study.duration_s = round(perf_counter() - started, 2)
    return study


def _check_api_models(keys: list[str], options: LlmOptions | None) -> None:
    """Every strategy behind an API has its model: --llm for chat, --embedding-api for
    embeddings."""
    chat = [k for k in keys if "llm" in registry.get(k)._param_names()]
    embedding = [k for k in keys if "api_model" in registry.get(k)._param_names()]
    if chat and (options is None or not options.model):
        raise ConfigError(
            f"{', '.join(chat)} need an LLM behind an API: pass --llm MODEL (e.g. "
            "openai/gpt-4o-mini, or ollama/llama3.1 with --api-base http://localhost:11434)"
        )
    if embedding and (options is None or not options.embedding_model):
        raise ConfigError(
            f"{', '.join(embedding)} need an embeddings API: pass --embedding-api MODEL (e.g. "
            "openai/text-embedding-3-small)"
        )


def _approve_spend(
    keys: list[str],
    params: dict[str, dict[str, Any]],
    data: TrialData,
    options: LlmOptions,
    reporter: Reporter,
    confirm: Callable[[str], bool] | None,
) -> None:
    """Estimate the API spend before any call, say it, ask above the threshold, set the cap."""
    from crossover.models.llm import limit_spend

    total, calls, lines, sources = 0.0, 0, [], []
    for key in keys:
        strategy: Any = registry.get(key)(**params[key])
        if "api_model" in strategy.get_params():
            # An embeddings API: fitting would already pay (it embeds the training texts).
            # Every text it will embed: the test rows, and the training rows for a head.
            texts = list(data.test_x) + (list(data.train_x) if strategy.needs_labels else [])
            estimate = strategy.estimate(texts)
        else:
            # A chat LLM: fitting makes no call (the label set, the few-shot examples).
            strategy.fit(data.train_x, data.train_y, label_descriptions=data.label_descriptions)
            estimate = strategy.estimate(data.test_x)
        total += estimate["usd"]
        calls += int(estimate["calls"])
        lines.append(f"{key} ~${estimate['usd']:.4f}")
        source = strategy.price()[2]
        if source not in sources:
            sources.append(source)
    source = "; ".join(sources)
    cap = options.max_spend_usd
    models = ", ".join(m for m in (options.model, options.embedding_model) if m)
    message = (
        f"API spend estimate for {models}: {calls:,} calls, about ${total:.4f} "
        f"({'; '.join(lines)}; prices: {source}); answers already in the response cache are "
        "free" + (f"; hard cap --max-spend-usd {cap:g}" if cap is not None else "")
    )
    reporter.message(message)
    if cap is not None and total > cap:
        reporter.message(
            f"the estimate is above --max-spend-usd {cap:g}: the run will stop cleanly when the "
            "cap is reached, keeping every answer paid for"
        )
    if total > options.confirm_above_usd and confirm is not None and not confirm(message):
        raise ConfigError("the API spend was not confirmed; nothing was spent")
    limit_spend(cap)


def _thresholds(study: Study, amounts: Any, cost_fp: float, seed: int) -> dict[str, Any]:
    """Per leaderboard strategy: the expected-loss threshold and the money it saves."""
    import numpy as np

    from crossover.tasks.tabular_classification import decision_threshold

    positive = study.spec.get("positive")
    y = (np.asarray(study.y_true, dtype=object) == positive).astype(int)
    out = {}
    for r in study.leaderboard_results:
        if r.proba is None or not r.classes or positive not in r.classes:
            continue
        score = np.asarray(r.proba)[:, r.classes.index(positive)]
        out[r.trial.strategy] = decision_threshold(y, score, amounts, cost_fp, seed)
    return out


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
